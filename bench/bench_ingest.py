"""Durable batched ingestion over HTTP, beside a one-observation-per-request baseline.

Both run against the same live server (uvicorn, GeoPackage store with WAL and
synchronous=FULL) in the same run; the figure is observations per second.

    .venv/bin/python bench/bench_ingest.py [--batches 30] [--singles 400]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import Server
from geo.demo import demo_towers
from service.app import open_store
from service.auth import Role, create_key
from service.settings import Settings


def features(start: int, n: int, lon: float, lat: float) -> list[dict[str, object]]:
    return [
        {
            "type": "Feature",
            "id": f"b-{i}",
            "geometry": {"type": "Point", "coordinates": [lon + (i % 97) * 1e-5, lat]},
            "properties": {
                "observed_at": "2026-11-20T10:00:00Z",
                "intensity": (i % 100) / 100,
                "source": "sensor",
                "confidence": 0.9,
            },
        }
        for i in range(start, start + n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--singles", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        towers = demo_towers()
        store.upsert_towers(towers)
        key, _ = create_key(store, Role.SENSOR)
        store.close()
        lon, lat = towers[0].centroid_lonlat
        headers = {"Authorization": f"Bearer {key}"}
        with (
            Server(Path(tmp)) as server,
            httpx.Client(base_url=server.url, headers=headers, timeout=60) as http,
        ):
            bodies = [
                {
                    "type": "FeatureCollection",
                    "features": features(b * args.batch_size, args.batch_size, lon, lat),
                }
                for b in range(args.batches)
            ]
            t0 = time.perf_counter()
            for body in bodies:
                http.post("/observations", json=body).raise_for_status()
            batched = args.batches * args.batch_size / (time.perf_counter() - t0)

            base = 10_000_000
            singles = [
                {"type": "FeatureCollection", "features": features(base + i, 1, lon, lat)}
                for i in range(args.singles)
            ]
            t0 = time.perf_counter()
            for body in singles:
                http.post("/observations", json=body).raise_for_status()
            single = args.singles / (time.perf_counter() - t0)
    print(f"batched ({args.batch_size}/request): {batched:,.0f} obs/s")
    print(f"baseline (1/request):        {single:,.0f} obs/s")
    print(f"ratio batched/baseline:      {batched / single:.1f}x")


if __name__ == "__main__":
    main()
