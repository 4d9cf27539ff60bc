"""Fixtures of the store tests: one contract suite over both backends, and small builders.

``store`` is parametrised over the GeoPackage (a real file in ``tmp_path``) and PostGIS
(a fresh schema of the test database, see :mod:`tests.postgis`), so every test that
uses it checks the :class:`~service.store.base.Store` contract on both. A test that
also asks for ``gpkg_path`` (it inspects the file), is marked ``geopackage_only`` or
lives in a ``test_gpkg_*`` module runs on the GeoPackage only.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from geo.observations import Observation, Source
from service.store.base import Store
from service.store.gpkg import GeoPackageStore
from service.store.postgis import PostGISStore
from tests.postgis import postgis_schema

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ORIGIN = (5.1214, 52.0907)


def make_observation(i: int, **overrides: Any) -> Observation:
    """Observation ``i``: one per minute from :data:`T0`, on a 10-column grid.

    Odd ``i`` carry a height (POINT Z), every third is about tower ``T00{i % 3}``.
    """
    values: dict[str, Any] = {
        "id": f"obs-{i:05d}",
        "lon": ORIGIN[0] + 0.001 * (i % 10),
        "lat": ORIGIN[1] + 0.001 * (i // 10),
        "observed_at": T0 + timedelta(minutes=i),
        "intensity": (i % 100) / 100,
        "source": list(Source)[i % len(Source)],
        "height_ellipsoid_m": 45.0 + i / 8 if i % 2 else None,
        "confidence": 0.5 + (i % 5) / 10 if i % 4 else None,
        "microbial_balance": 0.25 if i % 3 == 0 else None,
        "tower_id": f"T{i % 3:03d}" if i % 3 else None,
        "tier": i % 4 if i % 3 else None,
    }
    values.update(overrides)
    return Observation(**values)


@pytest.fixture
def gpkg_path(tmp_path: Path) -> Path:
    """Where the store file goes."""
    return tmp_path / "store.gpkg"


BACKENDS = ("geopackage", "postgis")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each ``store`` test on both backends, file-inspecting ones on the GeoPackage."""
    if "store" not in metafunc.fixturenames:
        return
    only_gpkg = (
        "gpkg_path" in metafunc.fixturenames
        or metafunc.module.__name__.rpartition(".")[2].startswith("test_gpkg_")
        or any(mark.name == "geopackage_only" for mark in metafunc.definition.iter_markers())
    )
    backends = ("geopackage",) if only_gpkg else BACKENDS
    metafunc.parametrize("backend", backends, indirect=False, scope="function")


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of ``backend``, closed (and its schema dropped) after the test."""
    if backend == "geopackage":
        with GeoPackageStore(tmp_path / "store.gpkg") as opened:
            yield opened
        return
    with postgis_schema() as (url, schema), PostGISStore(url, schema, pool_size=4) as opened:
        yield opened


def sql(path: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the file through a separate plain SQLite connection."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(statement, params).fetchall()
    finally:
        connection.close()


READER = Path(__file__).with_name("gdal_reader.py")


def read_with_gdal(
    path: Path, bboxes: Sequence[tuple[float, float, float, float]] = ()
) -> dict[str, Any]:
    """What GDAL sees in ``path`` (see :mod:`tests.service.store.gdal_reader`).

    Read in a child process: GDAL must not open the live file in the store's process.
    GDAL's warnings (a bad application_id, say) fail the read.
    """
    child = subprocess.run(
        [sys.executable, str(READER), str(path), json.dumps(bboxes)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert "Warning" not in child.stderr, child.stderr[-3000:]
    result: dict[str, Any] = json.loads(child.stdout)
    return result
