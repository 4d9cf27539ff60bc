"""PostgreSQL + PostGIS for the tests: one fresh schema per test, dropped afterwards.

The database is ``BLIGHTMAP_TEST_DATABASE_URL`` (default: the machine's
``postgresql://postgres@127.0.0.1:5432/test``). Without a reachable server or without
the PostGIS extension the PostGIS tests are skipped with the reason, unless
``BLIGHTMAP_CI=1``, where that is a failure.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from tests.conftest import IN_CI

__all__ = ["TEST_DATABASE_URL", "postgis_schema", "require_postgis"]

TEST_DATABASE_URL = os.environ.get(
    "BLIGHTMAP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@functools.cache
def _unavailable() -> str | None:
    """Why the PostGIS tests cannot run here, or ``None`` when they can."""
    try:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True, connect_timeout=3) as db:
            row = db.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
            if row is None:
                return (
                    "PostgreSQL is up but PostGIS is not installed "
                    "(apt-get install postgresql-15-postgis-3)"
                )
            db.execute("CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL with PostGIS at {TEST_DATABASE_URL.split('@')[-1]}: {first}"
    return None


def require_postgis() -> str:
    """The test database URL; skips (fails with ``BLIGHTMAP_CI=1``) when unusable."""
    reason = _unavailable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"PostGIS is required in CI: {reason}")
        pytest.skip(reason)
    return TEST_DATABASE_URL


@contextmanager
def postgis_schema(prefix: str = "bm_test") -> Iterator[tuple[str, str]]:
    """``(url, schema)`` of a new, unused schema name; the schema is dropped afterwards."""
    url = require_postgis()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield url, schema
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
