"""Provenance (issue 11, finding 5): who wrote each row; deletions leave an audit record;
key scopes are stored (both backends); GeoPackages of schema 3 gain the columns on open."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely.geometry import box

from geo.observations import observation_digest
from geo.treatments import Treatment
from service.store.base import KeyRecord, NotFound, Store
from service.store.gpkg import GeoPackageStore
from service.store.gpkg_schema import SCHEMA_VERSION
from tests.conftest import make_tower
from tests.service.store.conftest import make_observation, sql

AREA = box(5.1214, 52.0907, 5.1220, 52.0910)
T = datetime(2026, 5, 1, tzinfo=UTC)


def test_each_row_records_the_key_that_wrote_it(store: Store) -> None:
    store.create_tower(make_tower(0), key_id="k-admin")
    store.upsert_towers([make_tower(1)], key_id="k-import")
    store.add_observations([make_observation(0)], key_id="k-sensor")
    store.add_observations([make_observation(1)])
    store.add_treatment(Treatment("tr-1", AREA, "B. s.", 0.5, T), key_id="k-planner")
    assert store.written_by("towers", "T000") == "k-admin"
    assert store.written_by("towers", "T001") == "k-import"
    assert store.written_by("observations", "obs-00000") == "k-sensor"
    assert store.written_by("observations", "obs-00001") is None  # command line, demo
    assert store.written_by("treatments", "tr-1") == "k-planner"
    with pytest.raises(NotFound):
        store.written_by("observations", "nope")
    with pytest.raises(ValueError):
        store.written_by("blightmap_keys", "k-admin")


def test_replacing_a_tower_records_the_new_writer_only_on_change(store: Store) -> None:
    store.create_tower(make_tower(0), key_id="k1")
    store.replace_tower(make_tower(0), key_id="k2")  # identical: nothing changes
    assert store.written_by("towers", "T000") == "k1"
    store.replace_tower(make_tower(0, lon=5.13), key_id="k2")
    assert store.written_by("towers", "T000") == "k2"


def test_a_known_observation_keeps_its_first_writer(store: Store) -> None:
    store.add_observations([make_observation(0)], key_id="first")
    assert store.add_observations([make_observation(0)], key_id="second").known == 1
    assert store.written_by("observations", "obs-00000") == "first"


def test_deleting_an_observation_leaves_an_audit_record(store: Store) -> None:
    kept, gone = make_observation(0), make_observation(1)
    store.add_observations([kept, gone])
    before = store.data_version()
    assert store.delete_observation(gone.id, "k-admin") == gone
    assert store.get_observation(gone.id) is None and store.get_observation(kept.id) == kept
    assert store.data_version() == before + 1
    (record,) = store.audit_log()
    assert (record.key_id, record.action, record.target) == (
        "k-admin",
        "delete",
        "observations/obs-00001",
    )
    assert abs((datetime.now(UTC) - record.at).total_seconds()) < 60
    assert record.detail["digest"] == observation_digest(gone)
    assert record.detail["feature"]["properties"]["intensity"] == gone.intensity
    with pytest.raises(NotFound):
        store.delete_observation(gone.id, "k-admin")
    assert len(store.audit_log()) == 1  # a failed deletion is not recorded
    store.add_observations([gone])  # the id may be used again
    assert store.get_observation(gone.id) == gone


def test_deleting_a_tower_leaves_an_audit_record(store: Store) -> None:
    store.create_tower(make_tower(3))
    store.delete_tower("T003", "k-admin")
    (record,) = store.audit_log()
    assert (record.key_id, record.action, record.target) == ("k-admin", "delete", "towers/T003")
    assert record.detail["properties"]["base_height_m"] == make_tower(3).base_height_m
    assert record.detail["geometry"]["type"] == "Polygon"


def test_key_scopes_round_trip(store: Store) -> None:
    scoped = KeyRecord(
        "k1", "sensor", "a" * 64, T, sources=("sensor", "drone"), tower_ids=("T000",)
    )
    plain = KeyRecord("k2", "sensor", "b" * 64, T)
    store.add_key(scoped)
    store.add_key(plain)
    assert store.find_key("a" * 64) == scoped
    assert store.find_key("b" * 64) == plain
    assert store.list_keys() == [scoped, plain]


def test_a_schema_3_store_gains_provenance_on_open(gpkg_path: Path) -> None:
    with GeoPackageStore(gpkg_path) as store:
        store.add_observations([make_observation(0)], key_id="k")
        store.add_key(KeyRecord("k", "sensor", hashlib.sha256(b"x").hexdigest(), T))
    connection = sqlite3.connect(gpkg_path)
    with connection:  # back to schema 3 as it was written: no provenance anywhere
        for table in ("towers", "observations", "treatments"):
            connection.execute(f"ALTER TABLE {table} DROP COLUMN key_id")
        connection.execute("ALTER TABLE blightmap_keys DROP COLUMN scopes")
        connection.execute("DROP TABLE blightmap_audit")
        connection.execute("UPDATE blightmap_meta SET value = '3' WHERE key = 'schema_version'")
    connection.close()
    with GeoPackageStore(gpkg_path) as store:
        assert store.written_by("observations", "obs-00000") is None
        assert store.list_keys()[0].sources is None
        store.add_observations([make_observation(1)], key_id="k")
        assert store.written_by("observations", "obs-00001") == "k"
        store.delete_observation("obs-00000", "k")
        assert len(store.audit_log()) == 1
    assert sql(gpkg_path, "SELECT value FROM blightmap_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
