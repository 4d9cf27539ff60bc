"""Exports of the demo district: the A3 300-DPI PDF and the MBTiles of zooms 14 to 19.

The demo district (``blightmap serve --demo``: 52 towers, two weeks of outbreak) is
seeded into a temporary store and its field computed as the service does; then, best
of ``--repeat`` runs each, alternating:

* **PDF**: ``write_pdf`` of the whole district, A3 landscape at 300 DPI (blight page
  with towers and zones), beside two baselines: the same sheet at 150 DPI (the lowest a
  request may ask for), and a bare
  matplotlib ``imshow`` of the same RGBA raster filling an A3 page saved as PDF at
  300 DPI (no decorations, no vectors). Target: under 10 s.
* **MBTiles**: the export of zooms 14-19 (``run_export`` with ``formats=("mbtiles",)``:
  blight, uncertainty and the vector tile set, or blight alone), beside rendering the
  same tiles without writing them, and beside GDAL's MBTiles driver writing the blight
  layer (the same colormap applied to the field, warped to Web Mercator at zoom 19
  and given overviews down to zoom 14) through rasterio. Target: under 30 s.

    .venv/bin/python bench/bench_exports.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
from matplotlib.figure import Figure
from rasterio.enums import Resampling
from rasterio.shutil import copy as rio_copy
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.colormap import colormap
from geo.export import ExportData, ExportSpec, PrintOptions
from geo.export.bundle import run_export
from geo.export.pdf import write_pdf
from geo.export.tilesets import render_tile_set, tile_sets, tiles_covering
from service.app import build_state, open_store
from service.demo import seed_demo
from service.exports import export_data
from service.fields import compute_field
from service.settings import Settings

A3_LANDSCAPE_IN = (420 / 25.4, 297 / 25.4)
ZOOMS = (14, 19)


def demo_data(tmp: Path) -> ExportData:
    """The demo district's field, towers and zones, computed as the service does."""
    settings = Settings(data_dir=tmp / "data")
    store = open_store(settings)
    try:
        seed_demo(store, seed=settings.demo_seed, end=datetime(2026, 11, 26, 12, tzinfo=UTC))
        layer = build_state(settings, store).towers.current()
        return export_data(compute_field(store, layer, settings), layer)
    finally:
        store.close()


def best_of(repeat: int, *runs: Callable[[], object]) -> list[float]:
    """Best time of each run, alternating them so that machine noise hits all."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, out in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            out.append(time.perf_counter() - start)
    return [min(t) for t in times]


def bare_imshow_pdf(data: ExportData, path: Path) -> None:
    """Baseline: the same RGBA raster on an A3 page, nothing else, at 300 DPI."""
    fig = Figure(figsize=A3_LANDSCAPE_IN, dpi=300)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    minx, miny, maxx, maxy = data.grid.spec.bounds_m
    ax.imshow(
        colormap("intensity").rgba(data.grid.values),
        extent=(minx, maxx, miny, maxy),
        interpolation="nearest",
    )
    ax.set_axis_off()
    fig.savefig(path, format="pdf", dpi=300)


def gdal_mbtiles(data: ExportData, tmp: Path) -> None:
    """Baseline: GDAL's MBTiles driver, zoom 19 from a warped RGBA field, overviews to 14."""
    rgba = colormap("intensity").rgba(data.grid.values)
    spec = data.grid.spec
    src_path, out = tmp / "rgba.tif", tmp / "gdal.mbtiles"
    out.unlink(missing_ok=True)
    profile = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": 4,
        "dtype": "uint8",
        "crs": spec.crs.to_wkt(),
        "transform": spec.transform,
    }
    with rasterio.open(src_path, "w", **profile) as dst:
        dst.write(np.moveaxis(rgba, -1, 0))
    res_z19 = 2 * math.pi * 6378137 / 256 / 2 ** ZOOMS[1]
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds, resolution=res_z19
        )
        with WarpedVRT(
            src,
            crs="EPSG:3857",
            transform=transform,
            width=width,
            height=height,
            resampling=Resampling.bilinear,
        ) as vrt:
            rio_copy(vrt, out, driver="MBTiles", TILE_FORMAT="PNG", RESAMPLING="BILINEAR")
    with rasterio.open(out, "r+") as dst:
        dst.build_overviews([2, 4, 8, 16, 32], Resampling.average)


def render_only(data: ExportData, layers: tuple[str, ...]) -> int:
    """Baseline: the same tiles rendered, nothing written."""
    tiles = tiles_covering(data.district_bbox_wgs84(), ZOOMS)
    return sum(
        len(blob) for ts in tile_sets(layers) for *_, blob in render_tile_set(ts, data, tiles)
    )


def main() -> None:
    """Run both benchmarks and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    try:
        data = demo_data(tmp)
        area = data.district_bbox_wgs84()
        n_tiles = len(tiles_covering(area, ZOOMS))
        spec = data.grid.spec
        print(
            f"demo district: {len(data.towers)} towers, field {spec.width} x {spec.height} "
            f"cells of {spec.resolution_m:g} m ({data.method}), {n_tiles} tiles per tile set "
            f"at zooms {ZOOMS[0]}-{ZOOMS[1]}"
        )
        layers = ("blight", "towers", "zones")
        a3 = PrintOptions("A3", "landscape", 300, "Demo district")
        a3_150 = PrintOptions("A3", "landscape", 150, "Demo district")
        pdf, pdf150, bare = best_of(
            args.repeat,
            lambda: write_pdf(data, area, layers, a3, tmp / "a3.pdf"),
            lambda: write_pdf(data, area, layers, a3_150, tmp / "a3-150.pdf"),
            lambda: bare_imshow_pdf(data, tmp / "bare.pdf"),
        )
        size = (tmp / "a3.pdf").stat().st_size
        print(
            f"PDF A3 300 dpi: {pdf:.2f} s ({size / 1e6:.2f} MB); target < 10 s: "
            f"{'met' if pdf < 10 else 'NOT met'}"
        )
        print(f"  same sheet at 150 dpi: {pdf150:.2f} s -> ratio 300/150 dpi {pdf / pdf150:.2f}x")
        print(f"  bare imshow A3 300 dpi: {bare:.2f} s -> ratio ours/bare {pdf / bare:.2f}x")

        def export(layers_: tuple[str, ...], name: str) -> None:
            out = tmp / name
            shutil.rmtree(out, ignore_errors=True)
            run_export(ExportSpec(zooms=ZOOMS, layers=layers_, formats=("mbtiles",)), data, out)

        all_layers = ("blight", "uncertainty", "towers", "zones")
        full, render_full, blight, render_blight, gdal = best_of(
            args.repeat,
            lambda: export(all_layers, "all"),
            lambda: render_only(data, all_layers),
            lambda: export(("blight",), "blight"),
            lambda: render_only(data, ("blight",)),
            lambda: gdal_mbtiles(data, tmp),
        )
        print(
            f"MBTiles z14-19, blight + uncertainty + vector: {full:.2f} s; target < 30 s: "
            f"{'met' if full < 30 else 'NOT met'}"
        )
        print(
            f"  rendering the same tiles only: {render_full:.2f} s -> ratio "
            f"{full / render_full:.2f}x"
        )
        print(
            f"MBTiles z14-19, blight only: {blight:.2f} s; render only {render_blight:.2f} s "
            f"-> ratio {blight / render_blight:.2f}x"
        )
        print(
            f"  GDAL MBTiles driver (warp + overviews), blight: {gdal:.2f} s -> ratio "
            f"ours/GDAL {blight / gdal:.2f}x"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
