"""Fixtures for the GeoPackage store: a real file in ``tmp_path`` and small builders."""

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
from service.store.gpkg import GeoPackageStore

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


@pytest.fixture
def store(gpkg_path: Path) -> Iterator[GeoPackageStore]:
    """A fresh store, closed after the test."""
    opened = GeoPackageStore(gpkg_path)
    yield opened
    opened.close()


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
