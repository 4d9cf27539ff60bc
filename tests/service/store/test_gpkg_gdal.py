"""GDAL (through pyogrio) opens the live store file and sees what the store holds.

The live file is read from a child process (:mod:`tests.service.store.gdal_reader`),
the way QGIS or ``ogrinfo`` meet it, while the store keeps its connections open. GDAL
inside the store's own process is covered too: the store must notice and refuse to go
on, since GDAL's bundled SQLite deletes the WAL there.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point

from service.store.base import ObservationQuery, StoreError
from service.store.gpkg import GeoPackageStore
from tests.conftest import make_tower
from tests.service.store.conftest import ORIGIN, T0, make_observation, read_with_gdal, sql

BBOXES = [
    (ORIGIN[0] + 0.002, ORIGIN[1] + 0.003, ORIGIN[0] + 0.0045, ORIGIN[1] + 0.0105),
    (ORIGIN[0] - 1, ORIGIN[1] - 1, ORIGIN[0] + 0.0005, ORIGIN[1] + 0.0005),
    (0.0, 0.0, 1.0, 1.0),
]


class Live:
    """A store left open, its content, and GDAL's view of the file."""

    def __init__(self, store: GeoPackageStore, path: Path) -> None:
        self.store = store
        self.towers = [make_tower(i, polygon=i % 2 == 0) for i in range(6)]
        self.observations = [make_observation(i) for i in range(250)]
        store.upsert_towers(self.towers)
        store.add_observations(self.observations)
        assert store.counts()["observations"] == 250  # this thread's reader is open too
        self.gdal = read_with_gdal(path, BBOXES)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("live") / "store.gpkg"
    store = GeoPackageStore(path)
    yield Live(store, path)
    store.close()


def test_layers_are_listed(live: Live) -> None:
    assert live.gdal["layers"]["towers"] == "Polygon"  # point towers are stored as circles
    assert live.gdal["layers"]["observations"] == "Point Z"  # z = 2, optional


@pytest.mark.parametrize(("layer", "count"), [("towers", 6), ("observations", 250)])
def test_info_reports_crs_count_and_spatial_index(live: Live, layer: str, count: int) -> None:
    info = live.gdal["info"][layer]
    assert info["crs"] == "EPSG:4326"
    assert info["features"] == count
    assert info["geometry_name"] == "geom"
    assert info["fid_column"] == "fid"
    assert info["fast_spatial_filter"] is True  # GDAL found the rtree


def test_without_the_rtree_gdal_reports_no_spatial_index(live: Live, tmp_path: Path) -> None:
    # Control for the assertion above: strip the index from a copy (a different file,
    # so reading it with GDAL in this process is harmless).
    copy = tmp_path / "copy.gpkg"
    source, target = sqlite3.connect(live.store.describe()["path"]), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    for suffix in ("insert", "update1", "update2", "update3", "update4", "delete"):
        target.execute(f"DROP TRIGGER rtree_towers_geom_{suffix}")
    target.execute("DROP TABLE rtree_towers_geom")
    target.execute("DELETE FROM gpkg_extensions WHERE table_name = 'towers'")
    target.commit()
    target.close()
    assert pyogrio.read_info(copy, layer="towers")["capabilities"]["fast_spatial_filter"] is False


def test_total_bounds(live: Live) -> None:
    lons = [o.lon for o in live.observations]
    lats = [o.lat for o in live.observations]
    expected = [min(lons), min(lats), max(lons), max(lats)]
    assert live.gdal["info"]["observations"]["total_bounds"] == pytest.approx(expected)


def test_tower_fields_and_json_subtypes(live: Live) -> None:
    info = live.gdal["info"]["towers"]
    assert info["fields"] == [
        "tower_id",
        "name",
        "district",
        "base_height_m",
        "height_m",
        "tier_count",
        "tiers",
        "extra",
        "key_id",
    ]
    subtypes = dict(zip(info["fields"], info["ogr_subtypes"], strict=True))
    assert subtypes["tiers"] == subtypes["extra"] == "OFSTJSON"


def test_observation_fields_and_types(live: Live) -> None:
    info = live.gdal["info"]["observations"]
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["observed_at"] == types["received_at"] == "OFTDateTime"
    assert types["intensity"] == types["height_ellipsoid_m"] == "OFTReal"
    assert types["tier"] == "OFTInteger64"
    assert types["obs_id"] == types["source"] == "OFTString"


def _gdal_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_observations_read_back_identically(live: Live) -> None:
    rows = {row["obs_id"]: row for row in live.gdal["rows"]["observations"]}
    assert len(rows) == len(live.observations)
    for observation in live.observations:
        row = rows[observation.id]
        assert _gdal_time(row["observed_at"]) == observation.observed_at
        assert row["intensity"] == observation.intensity
        assert row["source"] == observation.source.value
        assert row["tower_id"] == observation.tower_id
        geometry = shapely.from_wkb(bytes.fromhex(row["geom"]))
        assert shapely.equals_identical(geometry, Point(observation.coordinates()))


def test_towers_read_back_identically(live: Live) -> None:
    rows = {row["tower_id"]: row for row in live.gdal["rows"]["towers"]}
    assert sorted(rows) == [t.id for t in live.towers]
    for tower in live.towers:
        row = rows[tower.id]
        geometry = shapely.from_wkb(bytes.fromhex(row["geom"]))
        assert geometry.geom_type == "Polygon"
        assert shapely.equals_identical(geometry, tower.with_polygon_footprint().footprint_wgs84)
        assert row["height_m"] == tower.height_m and row["tier_count"] == len(tower.tiers)
        assert json.loads(row["tiers"]) == [t.to_dict() for t in tower.tiers]
        assert (row["name"], row["district"]) == (tower.name, tower.district)


@pytest.mark.parametrize("index", range(len(BBOXES)))
def test_gdal_bbox_reads_match_store_queries(live: Live, index: int) -> None:
    bbox = BBOXES[index]
    page = live.store.query_observations(ObservationQuery(bbox_wgs84=bbox, limit=1000))
    expected = sorted(
        o.id
        for o in live.observations
        if bbox[0] <= o.lon <= bbox[2] and bbox[1] <= o.lat <= bbox[3]
    )
    assert live.gdal["bbox"][index] == sorted(o.id for o in page.items) == expected
    assert page.number_matched == len(expected)


def test_gdal_sees_each_new_commit_of_the_open_store(
    store: GeoPackageStore, gpkg_path: Path
) -> None:
    store.upsert_towers([make_tower(i) for i in range(3)])
    store.add_observations([make_observation(i) for i in range(10)])
    first = read_with_gdal(gpkg_path)
    store.add_observations([make_observation(i) for i in range(10, 30)])
    store.delete_tower("T002")
    second = read_with_gdal(gpkg_path)
    assert [first["info"][name]["features"] for name in ("towers", "observations")] == [3, 10]
    assert [second["info"][name]["features"] for name in ("towers", "observations")] == [2, 30]
    assert store.counts() == {"towers": 2, "observations": 30, "keys": 0}


# -- GDAL in the store's own process ------------------------------------------------------


def test_gdal_in_process_trips_the_wal_guard(gpkg_path: Path) -> None:
    store = GeoPackageStore(gpkg_path)
    store.add_observations([make_observation(i) for i in range(20)])
    assert store.counts()["observations"] == 20
    # Reading works and is right ...
    assert pyogrio.read_info(gpkg_path, layer="observations")["features"] == 20
    # ... but GDAL's own SQLite then deleted the WAL: the store must stop, not go on
    # committing into a file no one else sees.
    assert not gpkg_path.with_name("store.gpkg-wal").exists()
    with pytest.raises(StoreError, match="WAL"):
        store.add_observations([make_observation(99)])
    with pytest.raises(StoreError, match="WAL"):
        store.counts()
    store.close()
    with GeoPackageStore(gpkg_path) as reopened:
        assert reopened.counts()["observations"] == 20
        assert reopened.add_observations([make_observation(99)]).new == 1
    assert sql(gpkg_path, "PRAGMA integrity_check") == [("ok",)]


def test_rows_written_by_gdal_are_readable(gpkg_path: Path) -> None:
    with GeoPackageStore(gpkg_path) as store:
        store.add_observations([make_observation(0)])
    # The store is closed, so GDAL may write in this process (as QGIS would elsewhere).
    frame = gpd.GeoDataFrame(
        {
            "obs_id": ["from-qgis"],
            "observed_at": [pd.Timestamp("2026-05-01T13:00:00.125Z")],
            "intensity": [0.75],
            "source": ["person"],
        },
        geometry=[Point(5.3, 52.2)],
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(frame, gpkg_path, layer="observations", append=True)
    with GeoPackageStore(gpkg_path) as store:
        got = store.get_observation("from-qgis")
        assert got is not None
        assert (got.lon, got.lat, got.intensity, got.source.value) == (5.3, 52.2, 0.75, "person")
        assert got.observed_at == T0 + pd.Timedelta(hours=1, milliseconds=125)
        page = store.query_observations(ObservationQuery(bbox_wgs84=(5.29, 52.19, 5.31, 52.21)))
        assert [o.id for o in page.items] == ["from-qgis"]  # GDAL kept the rtree current
        assert store.add_observations([make_observation(1)]).new == 1
    assert sql(gpkg_path, "PRAGMA integrity_check") == [("ok",)]


def test_observation_type_is_reported_for_mixed_dimensions(live: Live) -> None:
    geometry_types = {
        shapely.from_wkb(bytes.fromhex(row["geom"])).has_z
        for row in live.gdal["rows"]["observations"]
    }
    assert geometry_types == {True, False}  # POINT and POINT Z side by side
