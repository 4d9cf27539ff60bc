"""Ingest over HTTP on both backends in one run, and the bbox query over a large PostGIS table.

1. Ingest: a live ``blightmap serve`` per backend (the GeoPackage in a temporary data
   directory; PostGIS in a fresh schema of ``--database-url``), the same batches of
   1,000 observations posted to each; the figure is observations per second. Then the
   same number of batches through ``Store.add_observations`` alone, as the floor
   HTTP, validation and the field engine add to.
2. bbox: a fresh schema filled with ``--rows`` observations (server side, with
   ``generate_series``, in time order, over a district of about 1 x 1 km; the store's
   indexes are in place while it fills), then ``--requests`` random bboxes of about
   100 x 100 m through ``/collections/observations/items?bbox=...`` (10 items per page,
   with ``numberMatched``) and through the store directly, then the same boxes within
   one day (``datetime``); medians, beside ``/conformance`` on the same server (the
   HTTP floor).

    .venv/bin/python bench/bench_ingest_postgis.py [--batches 20] [--rows 2000000]
        [--requests 200] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import Server
from bench.bench_ingest import features
from geo.demo import demo_towers
from geo.observations import Observation, Source
from service.app import open_store
from service.auth import Role, create_key
from service.settings import Settings
from service.store.base import ObservationQuery
from service.store.postgis import PostGISStore

LON0, LAT0 = 5.115, 52.087  # the demo district (Utrecht)
SPAN_LON, SPAN_LAT = 0.015, 0.009  # about 1 x 1 km
BOX_LON, BOX_LAT = 0.0015, 0.0009  # about 100 x 100 m


@contextmanager
def backend(name: str, url: str, tmp: Path) -> Iterator[Settings]:
    """Settings (and the environment the server child inherits) for one backend."""
    schema = f"bm_bench_{os.getpid()}_{name}"
    postgis = name.startswith("postgis")
    if postgis:
        os.environ["BLIGHTMAP_DATABASE_URL"] = url
        os.environ["BLIGHTMAP_DATABASE_SCHEMA"] = schema
    try:
        yield Settings(data_dir=tmp / name)
    finally:
        os.environ.pop("BLIGHTMAP_DATABASE_URL", None)
        os.environ.pop("BLIGHTMAP_DATABASE_SCHEMA", None)
        if postgis:
            with psycopg.connect(url, autocommit=True) as db:
                db.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


def ingest(settings: Settings, batches: int, size: int) -> float:
    """Observations per second posting ``batches`` of ``size`` to a fresh server."""
    store = open_store(settings)
    towers = demo_towers()
    store.upsert_towers(towers)
    key, _ = create_key(store, Role.SENSOR)
    store.close()
    lon, lat = towers[0].centroid_lonlat
    bodies = [
        {"type": "FeatureCollection", "features": features(b * size, size, lon, lat)}
        for b in range(batches)
    ]
    headers = {"Authorization": f"Bearer {key}"}
    with (
        Server(settings.data_dir) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=120) as http,
    ):
        t0 = time.perf_counter()
        for body in bodies:
            http.post("/observations", json=body).raise_for_status()
        return batches * size / (time.perf_counter() - t0)


def store_alone(settings: Settings, batches: int, size: int) -> float:
    """Observations per second through ``Store.add_observations`` alone (no HTTP)."""
    lon, lat = demo_towers()[0].centroid_lonlat
    batch_list = [
        [
            Observation(
                id=f"s-{b * size + i}",
                lon=lon + (i % 97) * 1e-5,
                lat=lat,
                observed_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
                intensity=(i % 100) / 100,
                source=Source.SENSOR,
                confidence=0.9,
            )
            for i in range(size)
        ]
        for b in range(batches)
    ]
    store = open_store(settings)
    try:
        t0 = time.perf_counter()
        for batch in batch_list:
            store.add_observations(batch)
        return batches * size / (time.perf_counter() - t0)
    finally:
        store.close()


def fill(url: str, schema: str, rows: int) -> float:
    """Fill ``schema``'s observations with ``rows`` rows; returns the seconds it took."""
    PostGISStore(url, schema).close()  # migrations: the store's own tables and indexes
    t0 = time.perf_counter()
    with psycopg.connect(url) as db:
        db.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        db.execute(
            "INSERT INTO observations (obs_id, observed_at, intensity, source, received_at, "
            "geom) SELECT 'g-' || i, timestamptz '2026-09-01' + i * interval '500 ms', "
            "random(), 'sensor', now(), ST_SetSRID(ST_MakePoint("
            "%s + random() * %s, %s + random() * %s), 4326) FROM generate_series(1, %s) AS i",
            (LON0, SPAN_LON, LAT0, SPAN_LAT, rows),
        )
        db.execute(
            "UPDATE meta SET value = value + CASE key WHEN 'observations' THEN %s ELSE 1 END "
            "WHERE key IN ('observations', 'data_version')",
            (rows,),
        )
        db.commit()
        db.autocommit = True
        db.execute("VACUUM ANALYZE observations")
    return time.perf_counter() - t0


def bboxes(n: int, seed: int = 2026) -> list[tuple[float, float, float, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = LON0 + rng.random() * (SPAN_LON - BOX_LON)
        y = LAT0 + rng.random() * (SPAN_LAT - BOX_LAT)
        out.append((x, y, x + BOX_LON, y + BOX_LAT))
    return out


def bbox_timings(settings: Settings, requests: int, day: str | None = None) -> dict[str, float]:
    """Medians (ms) of the bbox query through HTTP and the store, and of /conformance.

    ``day`` (``YYYY-MM-DD``): also restrict to that UTC day (``datetime`` on HTTP).
    """
    boxes = bboxes(requests)
    window = {}
    if day is not None:
        start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
        window = {"start": start, "end": start + timedelta(days=1) - timedelta(milliseconds=1)}
    store = open_store(settings)
    direct, matched = [], []
    try:
        for b in boxes:
            t0 = time.perf_counter()
            page = store.query_observations(ObservationQuery(bbox_wgs84=b, limit=10, **window))
            direct.append(time.perf_counter() - t0)
            matched.append(page.number_matched)
    finally:
        store.close()
    http_ms, floor_ms = [], []
    with Server(settings.data_dir) as server, httpx.Client(base_url=server.url) as http:
        for b in boxes:
            params = {"bbox": ",".join(f"{v:.6f}" for v in b), "limit": "10"}
            if day is not None:
                params["datetime"] = f"{day}T00:00:00Z/{day}T23:59:59.999Z"
            t0 = time.perf_counter()
            http.get("/collections/observations/items", params=params).raise_for_status()
            http_ms.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            http.get("/conformance").raise_for_status()
            floor_ms.append(time.perf_counter() - t0)
    return {
        "store median": 1000 * statistics.median(direct),
        "http median": 1000 * statistics.median(http_ms),
        "http p95": 1000 * statistics.quantiles(http_ms, n=20)[-1],
        "conformance median": 1000 * statistics.median(floor_ms),
        "matched median": statistics.median(matched),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BLIGHTMAP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("geopackage", "postgis"):
            with backend(name, args.database_url, Path(tmp)) as settings:
                rate = ingest(settings, args.batches, args.batch_size)
                alone = store_alone(settings, args.batches, args.batch_size)
            print(
                f"ingest {name}: HTTP {rate:,.0f} obs/s, the store alone {alone:,.0f} obs/s "
                f"({args.batches} x {args.batch_size:,})"
            )
        with backend("postgis_bbox", args.database_url, Path(tmp)) as settings:
            assert settings.database_url is not None
            seconds = fill(settings.database_url, settings.database_schema, args.rows)
            print(f"filled {args.rows:,} observations in {seconds:.0f} s")
            shapes = {"bbox": None, "bbox + one day": "2026-09-05"}
            results = {
                name: bbox_timings(settings, args.requests, day) for name, day in shapes.items()
            }
        for name, figures in results.items():
            print(
                f"{name} over {args.rows:,}: store median {figures['store median']:.2f} ms; "
                f"HTTP median {figures['http median']:.2f} ms, p95 {figures['http p95']:.2f} ms; "
                f"/conformance median {figures['conformance median']:.2f} ms; "
                f"median matched {figures['matched median']:,.0f}"
            )


if __name__ == "__main__":
    main()
