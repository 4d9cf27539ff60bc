"""A new observation batch to an updated blight field, on the demo district.

A live server with the demo data (seeded by ``--demo``). Each round posts a batch of
observations and then asks ``/fields/blight`` until it reports the batch's data
version: the time from sending the batch to holding the new field. The baseline,
in the same run, is the POST alone (the durable ingest the field waits for).

    .venv/bin/python bench/bench_field_update.py [--rounds 15] [--batch 100]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import free_port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = subprocess.run(
            [sys.executable, "-m", "service.cli", "keys", "create", "--role", "sensor",
             "--data", tmp], capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--demo", "--data", tmp,
             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url)
            with httpx.Client(base_url=url, timeout=60,
                              headers={"Authorization": f"Bearer {key}"}) as http:
                meta = http.get("/fields/blight").json()  # the first field, computed once
                reference = meta["reference_time"]
                towers = http.get("/collections/towers/items", params={"limit": 100}).json()
                update_s, post_s = [], []
                for r in range(args.rounds):
                    body = _batch(towers["features"], r, args.batch, reference)
                    t0 = time.perf_counter()
                    answer = http.post("/observations", json=body)
                    answer.raise_for_status()
                    post_s.append(time.perf_counter() - t0)
                    version = answer.json()["data_version"]
                    while http.get("/fields/blight").json()["data_version"] < version:
                        time.sleep(0.01)
                    update_s.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"demo district: {len(towers['features'])} towers, field method {meta['method']}, "
          f"{meta['width']}x{meta['height']} cells of {meta['resolution_m']} m")
    print(f"batch -> updated field: median {statistics.median(update_s) * 1000:.0f} ms, "
          f"max {max(update_s) * 1000:.0f} ms")
    print("  (a GET of a stale field computes it at once; otherwise a 0.3 s debounce applies)")
    print(f"baseline POST alone:    median {statistics.median(post_s) * 1000:.0f} ms")
    print(f"ratio: {statistics.median(update_s) / statistics.median(post_s):.1f}x")


def _batch(towers: list[dict[str, object]], round_no: int, n: int, at: str) -> dict[str, object]:
    feats = []
    for i in range(n):
        tower = towers[(round_no * n + i) % len(towers)]
        coords = tower["geometry"]["coordinates"][0][0]  # type: ignore[index]
        feats.append({
            "type": "Feature", "id": f"bench-{round_no}-{i}",
            "geometry": {"type": "Point", "coordinates": coords},
            "properties": {"observed_at": at, "intensity": (i % 10) / 10, "source": "sensor",
                           "tower_id": tower["id"], "tier": 0},
        })
    return {"type": "FeatureCollection", "features": feats}


def _wait(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


if __name__ == "__main__":
    main()
