"""``/collections/towers/items?bbox=...`` over a 10,000-tower layer.

Reported beside ``/conformance`` (the HTTP floor of the same server, same client, same
run): the difference is what the spatial query and its serialization cost.

    .venv/bin/python bench/bench_bbox.py [--towers 10000] [--requests 400]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import Server
from geo.layer import Tier, Tower
from service.app import open_store
from service.settings import Settings

LON0, LAT0 = 5.10, 52.08


def grid_towers(n: int) -> list[Tower]:
    side = int(n**0.5) + 1
    out = []
    for i in range(n):
        lon, lat = LON0 + (i % side) * 0.0003, LAT0 + (i // side) * 0.0002
        out.append(
            Tower(
                id=f"G{i:05d}",
                footprint_wgs84=box(lon, lat, lon + 0.0001, lat + 0.00007),
                base_height_m=44.0,
                height_m=17.0,
                tiers=tuple(Tier(k, 3.0 * k, "lettuce") for k in range(5)),
                name=f"Grid {i}",
                district="bench",
            )
        )
    return out


def timed(http: httpx.Client, url: str) -> float:
    t0 = time.perf_counter()
    http.get(url).raise_for_status()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--towers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        store.upsert_towers(grid_towers(args.towers))
        store.close()
        with Server(Path(tmp)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            http.get("/collections/towers/items?limit=1")  # build the layer once
            bbox_ms, floor_ms, matched = [], [], []
            for _ in range(args.requests):
                lon, lat = LON0 + rng.uniform(0, 0.028), LAT0 + rng.uniform(0, 0.019)
                url = f"/collections/towers/items?bbox={lon},{lat},{lon + 0.002},{lat + 0.0015}"
                bbox_ms.append(timed(http, url))
                matched.append(http.get(url + "&limit=1").json()["numberMatched"])
                floor_ms.append(timed(http, "/conformance"))
    med, floor = statistics.median(bbox_ms), statistics.median(floor_ms)
    print(
        f"towers: {args.towers}, requests: {args.requests}, "
        f"median matched per bbox: {statistics.median(matched):.0f} (10 returned per page)"
    )
    print(f"bbox items median: {med:.2f} ms (p95 {statistics.quantiles(bbox_ms, n=20)[18]:.2f} ms)")
    print(f"/conformance median (HTTP floor): {floor:.2f} ms")
    print(f"ratio bbox/floor: {med / floor:.2f}x")


if __name__ == "__main__":
    main()
