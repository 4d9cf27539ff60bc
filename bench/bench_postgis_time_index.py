"""The time index of the PostGIS observations: BRIN against a B-tree, on the same table.

A fresh schema is filled with ``--rows`` observations (as in
``bench_ingest_postgis.py``: in time order, 2 per second), then for each variant only
that time index is present: ``brin`` (``observed_at``), ``btree``
(``observed_at, obs_id``, what the store pages by). Measured per variant: the index
size, and the medians over ``--windows`` random one-day windows of the count of the
window (``numberMatched``) and of its first page (10 rows in the API's order).

    .venv/bin/python bench/bench_postgis_time_index.py [--rows 2000000] [--windows 50]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bench_ingest_postgis import fill

T0 = datetime(2026, 9, 1, tzinfo=UTC)
VARIANTS = {
    "brin": "CREATE INDEX time_idx ON observations USING brin (observed_at)",
    "btree": "CREATE INDEX time_idx ON observations (observed_at, obs_id)",
}


def measure(db: psycopg.Connection, windows: list[datetime]) -> tuple[float, float]:
    """Median milliseconds of the count and of the first page of each window."""
    counts, pages = [], []
    for start in windows:
        end = start + timedelta(days=1)
        t0 = time.perf_counter()
        db.execute(
            "SELECT count(*) FROM observations WHERE observed_at >= %s AND observed_at <= %s",
            (start, end),
        ).fetchone()
        counts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        db.execute(
            "SELECT obs_id FROM observations WHERE observed_at >= %s AND observed_at <= %s "
            "ORDER BY observed_at, obs_id LIMIT 10",
            (start, end),
        ).fetchall()
        pages.append(time.perf_counter() - t0)
    return 1000 * statistics.median(counts), 1000 * statistics.median(pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--windows", type=int, default=50)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BLIGHTMAP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    schema = f"bm_bench_time_{os.getpid()}"
    span_days = args.rows / 2 / 86_400
    rng = random.Random(2026)
    windows = [T0 + timedelta(days=rng.uniform(0, span_days - 1)) for _ in range(args.windows)]
    try:
        print(f"filled {args.rows:,} rows in {fill(args.database_url, schema, args.rows):.0f} s")
        with psycopg.connect(args.database_url, autocommit=True) as db:
            db.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            for name in ("observations_observed_at_brin", "observations_time_id"):
                db.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            for variant, ddl in VARIANTS.items():
                db.execute("DROP INDEX IF EXISTS time_idx")
                t0 = time.perf_counter()
                db.execute(ddl)
                built = time.perf_counter() - t0
                db.execute("ANALYZE observations")
                (size,) = db.execute("SELECT pg_relation_size('time_idx')").fetchone() or (0,)
                count_ms, page_ms = measure(db, windows)
                print(
                    f"{variant}: {size / 2**20:,.2f} MiB, built in {built:.1f} s; one-day window "
                    f"count median {count_ms:.1f} ms, first page median {page_ms:.2f} ms"
                )
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
