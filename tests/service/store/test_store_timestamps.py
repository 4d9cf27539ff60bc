"""Timestamps in both stores: every year round-trips and sorts; old poisoned files are repaired."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely.geometry import box

from geo.treatments import Treatment
from service.store.base import KeyRecord, ObservationQuery, Store
from service.store.gpkg import GeoPackageStore
from service.store.gpkg_geometry import register_sql_functions
from service.store.gpkg_repair import canonical_timestamp
from service.store.gpkg_schema import SCHEMA_VERSION
from tests.service.store.conftest import make_observation, sql

BOUNDARY_YEARS = [1, 9, 99, 100, 999, 1000, 1970, 2026, 9999]


def old_format_utc(moment: datetime) -> str:
    """How blightmap wrote timestamps before schema 3 (glibc does not pad %Y)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _at(year: int) -> datetime:
    return datetime(year, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)


def test_every_boundary_year_round_trips_through_the_store(store: Store) -> None:
    store.add_observations(
        [make_observation(i, observed_at=_at(year)) for i, year in enumerate(BOUNDARY_YEARS)]
    )
    page = store.query_observations(ObservationQuery(limit=100))
    assert [o.observed_at for o in page.items] == [_at(year) for year in BOUNDARY_YEARS]
    assert store.latest_observation_time() == _at(9999)
    for i, year in enumerate(BOUNDARY_YEARS):
        stored = store.get_observation(f"obs-{i:05d}")
        assert stored is not None and stored.observed_at == _at(year)


def test_time_filters_work_at_both_ends_of_the_calendar(store: Store) -> None:
    store.add_observations(
        [make_observation(i, observed_at=_at(year)) for i, year in enumerate(BOUNDARY_YEARS)]
    )
    first = datetime.min.replace(tzinfo=UTC)
    last = datetime.max.replace(tzinfo=UTC)
    everything = store.query_observations(ObservationQuery(start=first, end=last, limit=100))
    assert everything.number_matched == len(BOUNDARY_YEARS)
    early = store.query_observations(ObservationQuery(end=_at(999), limit=100))
    assert [o.observed_at.year for o in early.items] == [1, 9, 99, 100, 999]
    assert store.query_observations(ObservationQuery(start=last)).number_matched == 0


@pytest.mark.parametrize("year", BOUNDARY_YEARS)
def test_treatment_and_key_times_round_trip(store: Store, year: int) -> None:
    area = box(5.1214, 52.0907, 5.1220, 52.0910)
    store.add_treatment(Treatment("tr-1", area, "B. subtilis", 0.5, _at(year)))
    store.add_key(KeyRecord("k1", "sensor", "ab" * 32, _at(year)))
    assert store.list_treatments()[0].applied_at == _at(year)
    assert store.list_keys()[0].created_at == _at(year)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("999-06-01T00:00:00.000Z", "0999-06-01T00:00:00.000Z"),
        ("1-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z"),
        ("2026-11-26 10:00:00.5+01:00", "2026-11-26T09:00:00.500Z"),
        ("2026-11-26T10:00:00", "2026-11-26T10:00:00.000Z"),
        ("2026-11-26T10:00:00.1234567Z", "2026-11-26T10:00:00.123Z"),
        ("garbage", None),
        ("2026-13-01T00:00:00Z", None),
        ("0001-01-01T00:00:00+01:00", None),
    ],
)
def test_canonical_timestamp(text: str, expected: str | None) -> None:
    assert canonical_timestamp(text) == expected


def poison_the_old_way(path: Path) -> None:
    """Write rows as the pre-schema-3 code did: unpadded years, schema_version 2."""
    connection = sqlite3.connect(path)
    register_sql_functions(connection)
    with connection:
        connection.execute(
            "INSERT INTO observations (geom, obs_id, observed_at, intensity, source, received_at) "
            "SELECT geom, 'poison-999', ?, 0.9, 'sensor', received_at FROM observations LIMIT 1",
            (old_format_utc(datetime(999, 6, 1, tzinfo=UTC)),),
        )
        connection.execute(
            "INSERT INTO observations (geom, obs_id, observed_at, intensity, source, received_at) "
            "SELECT geom, 'poison-1', ?, 0.9, 'sensor', received_at FROM observations LIMIT 1",
            (old_format_utc(datetime(1, 1, 1, tzinfo=UTC)),),
        )
        connection.execute(
            "UPDATE treatments SET applied_at = ?",
            (old_format_utc(datetime(999, 6, 1, tzinfo=UTC)),),
        )
        connection.execute("UPDATE blightmap_meta SET value = '2' WHERE key = 'schema_version'")
    connection.close()


def test_a_poisoned_schema_2_store_is_repaired_on_open(gpkg_path: Path) -> None:
    with GeoPackageStore(gpkg_path) as store:
        store.add_observations([make_observation(i) for i in range(3)])
        store.add_treatment(
            Treatment("tr-1", box(5.1214, 52.0907, 5.1220, 52.0910), "B. s.", 0.5, _at(2026))
        )
    poison_the_old_way(gpkg_path)
    assert sql(gpkg_path, "SELECT observed_at FROM observations WHERE obs_id = 'poison-999'") == [
        ("999-06-01T00:00:00.000Z",)
    ]
    (before,) = sql(gpkg_path, "SELECT value FROM blightmap_meta WHERE key = 'data_version'")
    with GeoPackageStore(gpkg_path) as store:
        latest = store.latest_observation_time()
        assert latest is not None and latest.year == 2026
        page = store.query_observations(ObservationQuery(limit=10))
        assert page.items[0].id == "poison-1" and page.items[1].id == "poison-999"
        assert page.items[1].observed_at == datetime(999, 6, 1, tzinfo=UTC)
        assert store.list_treatments()[0].applied_at == datetime(999, 6, 1, tzinfo=UTC)
        assert store.data_version() == int(before[0]) + 1
    assert sql(gpkg_path, "SELECT value FROM blightmap_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
