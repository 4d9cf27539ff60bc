"""Warm raster tiles from the in-memory field vs TiTiler serving the field's COG.

Both servers run on loopback, side by side in the same run, and answer the same list of
tiles (every WebMercatorQuad tile over the demo district at the chosen zooms), asked
by the same HTTP client one at a time:

- blightmap (``blightmap serve --demo``): ``/tiles/blight/WebMercatorQuad/{z}/{x}/{y}.png``,
  rendered from the field held in memory (bilinear, cividis).
- TiTiler (``titiler.core``'s ``TilerFactory`` under uvicorn) on the COG exported from
  the same field (``/fields/blight.tif``), band 1, ``rescale=0,1``,
  ``colormap_name=cividis``, bilinear resampling.

"Warm" means both have served every tile once before the timed passes (our field is
computed, TiTiler's GDAL block cache and file handles are hot); no tile bytes are cached
by either server. Passes alternate between the two servers so that load from other
processes hits both alike. The TiTiler environment is its own venv,
``bench/.venv-titiler`` (created on first use; titiler.core and uvicorn from PyPI).

    .venv/bin/python bench/bench_tiles.py [--zooms 14-18] [--passes 3] [--tilesize 256]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import httpx
import morecantile
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._server import free_port  # noqa: E402

TITILER_VENV = ROOT / "bench" / ".venv-titiler"
TITILER_VERSION = "2.4.0"  # the version the figures in BENCHMARKS.md were measured with
TITILER_APP = """
from fastapi import FastAPI
from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
from titiler.core.factory import TilerFactory

app = FastAPI()
app.include_router(TilerFactory().router, prefix="/cog")
add_exception_handlers(app, DEFAULT_STATUS_CODES)
"""


def titiler_python() -> Path:
    """The benchmark venv's Python, with titiler.core (the pinned version) and uvicorn."""
    python = TITILER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {TITILER_VENV} (titiler.core, uvicorn) ...", flush=True)
        venv.create(TITILER_VENV, with_pip=True)
    probe = f"import titiler.core as t, uvicorn; assert t.__version__ == '{TITILER_VERSION}'"
    if subprocess.run([python, "-c", probe], capture_output=True).returncode != 0:
        subprocess.run(
            [python, "-m", "pip", "install", "-q", f"titiler.core=={TITILER_VERSION}", "uvicorn"],
            check=True,
        )
    return python


def wait_for(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def parse_zooms(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def tile_list(bbox: list[float], zooms: list[int]) -> list[morecantile.Tile]:
    tms = morecantile.tms.get("WebMercatorQuad")
    return list(tms.tiles(*bbox, zooms))


def timed_pass(http: httpx.Client, urls: list[str]) -> tuple[float, int]:
    """Seconds for one pass over ``urls`` and the bytes received."""
    size = 0
    t0 = time.perf_counter()
    for url in urls:
        response = http.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
        size += len(response.content)
    return time.perf_counter() - t0, size


def compare(http: httpx.Client, ours: str, theirs: str) -> tuple[float, float]:
    """Mean absolute RGB difference where both tiles are opaque, and the share of pixels
    whose opacity agrees (a sanity check that both draw the same field)."""
    a = np.asarray(Image.open(io.BytesIO(http.get(ours).content)).convert("RGBA"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(http.get(theirs).content)).convert("RGBA"), dtype=float)
    both = (a[..., 3] == 255) & (b[..., 3] == 255)
    diff = float(np.abs(a[both][:, :3] - b[both][:, :3]).mean()) if both.any() else float("nan")
    return diff, float(((a[..., 3] > 0) == (b[..., 3] > 0)).mean())


def serve_ours(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--demo", "--data", str(data_dir),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip


def serve_titiler(python: Path, app_dir: Path, port: int) -> subprocess.Popen[bytes]:
    (app_dir / "titiler_app.py").write_text(TITILER_APP)
    return subprocess.Popen(
        [python, "-m", "uvicorn", "titiler_app:app", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=app_dir,
    )  # fmt: skip


def run(args: argparse.Namespace, tmp: Path, python: Path) -> None:
    ours_port, their_port = free_port(), free_port()
    ours = serve_ours(tmp / "data", ours_port)
    theirs = serve_titiler(python, tmp, their_port)
    try:
        ours_url, their_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{their_port}"
        wait_for(ours_url + "/healthz")
        wait_for(their_url + "/openapi.json")
        with httpx.Client(timeout=120) as http:
            meta = http.get(ours_url + "/fields/blight").json()  # the field, computed once
            cog = tmp / "blight.tif"
            cog.write_bytes(http.get(ours_url + "/fields/blight.tif").content)
            tiles = tile_list(meta["bbox_wgs84"], parse_zooms(args.zooms))
            size = args.tilesize
            query = f"?tilesize={size}" if size != 256 else ""
            our_urls = [
                f"{ours_url}/tiles/blight/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png{query}"
                for t in tiles
            ]
            their_query = (
                f"?url={cog}&bidx=1&rescale=0,1&colormap_name=cividis&resampling=bilinear"
                f"&reproject=bilinear&tilesize={size}"
            )
            their_urls = [
                f"{their_url}/cog/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png{their_query}"
                for t in tiles
            ]
            report(args, http, tiles, our_urls, their_urls, meta)
    finally:
        for proc in (ours, theirs):
            proc.terminate()
            proc.wait(10)


def report(
    args: argparse.Namespace,
    http: httpx.Client,
    tiles: list[morecantile.Tile],
    our_urls: list[str],
    their_urls: list[str],
    meta: dict[str, object],
) -> None:
    timed_pass(http, our_urls)  # warm-up passes, not timed
    timed_pass(http, their_urls)
    ours_s, theirs_s, ours_bytes, theirs_bytes = [], [], 0, 0
    for _ in range(args.passes):
        seconds, ours_bytes = timed_pass(http, our_urls)
        ours_s.append(seconds)
        seconds, theirs_bytes = timed_pass(http, their_urls)
        theirs_s.append(seconds)
    n = len(tiles)
    ours_rate, their_rate = n / statistics.median(ours_s), n / statistics.median(theirs_s)
    middle = len(tiles) // 2
    diff, agree = compare(http, our_urls[middle], their_urls[middle])
    print(f"field: {meta['width']} x {meta['height']} cells of {meta['resolution_m']} m, "
          f"data version {meta['data_version']}")  # fmt: skip
    print(f"tiles: {n} at zooms {args.zooms}, {args.tilesize} px PNG, {args.passes} timed passes")
    for name, rate, passes, size in (
        ("blightmap", ours_rate, ours_s, ours_bytes),
        ("TiTiler", their_rate, theirs_s, theirs_bytes),
    ):
        print(f"{name:10s} {rate:8.1f} tiles/s  (median pass {statistics.median(passes):.2f} s, "
              f"{size / n / 1024:.1f} KiB/tile)")  # fmt: skip
    print(f"ratio: {ours_rate / their_rate:.2f}x (target >= 3x)")
    print(f"same tile from both: opacity agrees on {agree:.1%} of pixels, "
          f"mean |RGB difference| {diff:.1f} of 255 where both are opaque")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zooms", default="14-18", help="zoom range, e.g. 14-18")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--tilesize", type=int, default=256, choices=(256, 512))
    args = parser.parse_args()
    python = titiler_python()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp), python)


if __name__ == "__main__":
    main()
