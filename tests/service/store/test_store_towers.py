"""Towers in both stores: exact round trips, errors, upserts (and the GeoPackage's extents)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon, box

from geo.layer import Tier, Tower
from service.store.base import AlreadyExists, NotFound, Store, StoreError
from service.store.gpkg import GeoPackageStore
from service.store.gpkg_geometry import decode_geometry, register_sql_functions
from tests.conftest import make_tower
from tests.service.store.conftest import sql


def _odd_tower() -> Tower:
    return Tower(
        id="tower.with_odd-id",
        footprint_wgs84=Polygon(
            [(5.0, 52.0), (5.001, 52.0), (5.001, 52.001), (5.0, 52.001)],
            [[(5.0002, 52.0002), (5.0002, 52.0004), (5.0004, 52.0004), (5.0002, 52.0002)]],
        ),
        base_height_m=0.1 + 0.2,
        height_m=12.345678901234567,
        tiers=(Tier(0, 0.0, ""), Tier(1, 1 / 3, "Basilikum 🌿"), Tier(2, 7.25, "kale")),
        name="Tuin 'De Groene Toren'",
        district="Lombok/Oost",
        extra={"owner": "Ünal", "sensors": [1, 2.5, None, True], "nested": {"k": {"v": []}}},
    )


def test_round_trip_is_exact(store: Store) -> None:
    tower = _odd_tower()
    store.create_tower(tower)
    got = store.get_tower(tower.id)
    assert got == tower
    assert got is not None
    assert shapely.equals_identical(got.footprint_wgs84, tower.footprint_wgs84)
    assert got.extra == tower.extra and got.tiers == tower.tiers


def test_point_footprint_is_stored_as_its_circle(store: Store) -> None:
    tower = make_tower(3, polygon=False)
    store.create_tower(tower)
    got = store.get_tower(tower.id)
    assert got is not None and got.footprint_wgs84.geom_type == "Polygon"
    assert got == tower.with_polygon_footprint()
    centre = got.footprint_wgs84.centroid
    assert (centre.x, centre.y) == pytest.approx(tower.centroid_lonlat, abs=1e-7)
    # DEFAULT_FOOTPRINT_RADIUS_M = 5 m: the circle is about 10 m wide on the ground
    geod = Geod(ellps="WGS84")
    minx, miny, maxx, maxy = got.footprint_wgs84.bounds
    assert geod.inv(minx, centre.y, maxx, centre.y)[2] == pytest.approx(10.0, rel=0.01)
    assert geod.inv(centre.x, miny, centre.x, maxy)[2] == pytest.approx(10.0, rel=0.01)


def test_round_trip_survives_reopening(gpkg_path: Path) -> None:
    with GeoPackageStore(gpkg_path) as store:
        store.create_tower(_odd_tower())
    with GeoPackageStore(gpkg_path) as store:
        assert store.get_tower(_odd_tower().id) == _odd_tower()


def test_footprints_are_stored_2d(store: Store, gpkg_path: Path) -> None:
    tower = make_tower(1, polygon=False)
    tower = replace(tower, footprint_wgs84=Point(5.1, 52.1, 30.0))
    store.create_tower(tower)
    (blob,) = sql(gpkg_path, "SELECT geom FROM towers")[0]
    assert not decode_geometry(blob).has_z  # the layer declares z = 0


def test_row_columns(store: Store, gpkg_path: Path) -> None:
    store.create_tower(_odd_tower())
    row = sql(
        gpkg_path,
        "SELECT tower_id, name, district, base_height_m, height_m, tier_count, "
        "json_extract(tiers, '$[1].crop'), json_extract(extra, '$.owner') FROM towers",
    )
    assert row == [
        (
            "tower.with_odd-id",
            "Tuin 'De Groene Toren'",
            "Lombok/Oost",
            0.1 + 0.2,
            12.345678901234567,
            3,
            "Basilikum 🌿",
            "Ünal",
        )
    ]


def test_list_is_ordered_by_id(store: Store) -> None:
    towers = [make_tower(i) for i in (11, 2, 7, 0)]
    for tower in towers:
        store.create_tower(tower)
    assert store.list_towers() == sorted(towers, key=lambda t: t.id)


def test_get_unknown_is_none(store: Store) -> None:
    assert store.get_tower("T404") is None


def test_create_twice_raises_already_exists(store: Store) -> None:
    store.create_tower(make_tower(1))
    changed = make_tower(1, lon=5.2)
    with pytest.raises(AlreadyExists):
        store.create_tower(changed)
    assert store.get_tower("T001") == make_tower(1)


def test_replace(store: Store) -> None:
    store.create_tower(make_tower(1))
    moved = make_tower(1, lon=5.2, tiers=2)
    store.replace_tower(moved)
    assert store.get_tower("T001") == moved
    assert store.counts()["towers"] == 1


def test_replace_unknown_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.replace_tower(make_tower(1))
    assert store.counts()["towers"] == 0


def test_delete(store: Store) -> None:
    store.create_tower(make_tower(1))
    store.create_tower(make_tower(2))
    store.delete_tower("T001")
    assert [t.id for t in store.list_towers()] == ["T002"]
    with pytest.raises(NotFound):
        store.delete_tower("T001")


def test_upsert_counts_created_and_replaced(store: Store) -> None:
    store.upsert_towers([make_tower(i) for i in range(3)])
    result = store.upsert_towers([make_tower(1, lon=5.3), make_tower(2), make_tower(3)])
    assert result == (1, 2)
    assert store.get_tower("T001") == make_tower(1, lon=5.3)
    assert [t.id for t in store.list_towers()] == ["T000", "T001", "T002", "T003"]


def test_upsert_of_nothing(store: Store) -> None:
    assert store.upsert_towers([]) == (0, 0)
    assert store.data_version() == 0


def test_upsert_is_one_transaction(store: Store, gpkg_path: Path) -> None:
    store.create_tower(make_tower(0))
    _fail_inserts_of(gpkg_path, "towers", "tower_id", "T005")
    version = store.data_version()
    with pytest.raises(StoreError, match="injected"):
        store.upsert_towers([make_tower(0, lon=5.5)] + [make_tower(i) for i in range(1, 8)])
    assert store.list_towers() == [make_tower(0)]
    assert store.data_version() == version
    assert sql(gpkg_path, "SELECT count(*) FROM rtree_towers_geom") == [(1,)]


def _fail_inserts_of(path: Path, table: str, column: str, value: str) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute(
        f"CREATE TRIGGER inject_failure BEFORE INSERT ON {table} "
        f"WHEN NEW.{column} = '{value}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    connection.commit()
    connection.close()


def test_unserializable_extra_is_refused(store: Store) -> None:
    tower = replace(make_tower(1), extra={"bad": float("nan")})
    with pytest.raises(StoreError, match="JSON"):
        store.create_tower(tower)
    assert store.counts()["towers"] == 0


def _extent(path: Path, table: str) -> tuple[float | None, ...]:
    return sql(
        path, "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?", (table,)
    )[0]


def _last_change(path: Path, table: str) -> datetime:
    (text,) = sql(path, "SELECT last_change FROM gpkg_contents WHERE table_name = ?", (table,))[0]
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_contents_extent_follows_the_towers(store: Store, gpkg_path: Path) -> None:
    assert _extent(gpkg_path, "towers") == (None, None, None, None)
    store.create_tower(make_tower(0, lon=5.0, lat=52.0))
    store.create_tower(make_tower(1, lon=5.5, lat=52.5, polygon=False))
    extent = _extent(gpkg_path, "towers")
    assert extent[:2] == (5.0, 52.0)  # the point tower's 5 m circle reaches a bit further
    assert extent[2:] == pytest.approx((5.5, 52.5), abs=1e-4)
    assert extent[2] > 5.5 and extent[3] > 52.5
    store.delete_tower("T001")
    assert _extent(gpkg_path, "towers") == box(5.0, 52.0, 5.00012, 52.00008).bounds
    store.delete_tower("T000")
    assert _extent(gpkg_path, "towers") == (None, None, None, None)


def test_last_change_moves_on_writes_only(store: Store, gpkg_path: Path) -> None:
    store.create_tower(make_tower(0))
    first = _last_change(gpkg_path, "towers")
    store.replace_tower(make_tower(0))  # identical: nothing changes
    assert _last_change(gpkg_path, "towers") == first
    store.replace_tower(make_tower(0, lon=5.3))
    assert _last_change(gpkg_path, "towers") > first


def test_rtree_follows_updates_and_deletes(store: Store, gpkg_path: Path) -> None:
    store.create_tower(make_tower(0, lon=5.0, lat=52.0, polygon=False))
    store.replace_tower(make_tower(0, lon=6.0, lat=53.0, polygon=False))
    ((minx, maxx, miny, maxy),) = sql(
        gpkg_path, "SELECT minx, maxx, miny, maxy FROM rtree_towers_geom"
    )
    assert minx == pytest.approx(6.0, abs=1e-4) and maxy == pytest.approx(53.0, abs=1e-4)
    assert minx <= 6.0 <= maxx and miny <= 53.0 <= maxy
    store.delete_tower("T000")
    assert sql(gpkg_path, "SELECT count(*) FROM rtree_towers_geom") == [(0,)]


def test_edited_rows_that_are_not_towers_raise_store_error(store: Store, gpkg_path: Path) -> None:
    import sqlite3

    store.create_tower(make_tower(0))
    connection = sqlite3.connect(gpkg_path)
    register_sql_functions(connection)  # the rtree update triggers need them on any UPDATE
    connection.execute("UPDATE towers SET height_m = -1")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="T000"):
        store.get_tower("T000")
