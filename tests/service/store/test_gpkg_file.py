"""The store file is a valid GeoPackage 1.3, opened idempotently, and foreign files are refused."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from shapely.geometry import Point

from service.store.base import StoreError
from service.store.gpkg import GeoPackageStore
from service.store.gpkg_geometry import encode_geometry, register_sql_functions
from service.store.gpkg_schema import _RTREE_TRIGGERS, SCHEMA_VERSION
from tests.conftest import make_tower
from tests.service.store.conftest import make_observation, read_with_gdal, sql


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_header_pragmas(store: GeoPackageStore, gpkg_path: Path) -> None:
    assert sql(gpkg_path, "PRAGMA application_id") == [(0x47504B47,)]
    assert sql(gpkg_path, "PRAGMA user_version") == [(10300,)]
    # GDAL reads these from the file on disk, not through the WAL.
    header = gpkg_path.read_bytes()[:100]
    assert header[68:72] == b"GPKG"
    assert int.from_bytes(header[60:64], "big") == 10300


def test_journal_mode_is_wal(store: GeoPackageStore, gpkg_path: Path) -> None:
    assert sql(gpkg_path, "PRAGMA journal_mode") == [("wal",)]


def test_writer_pragmas(store: GeoPackageStore) -> None:
    writer = store._connections._writer  # white box: durability settings of the writer
    assert writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert writer.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert writer.execute("PRAGMA busy_timeout").fetchone() == (5000,)


def test_mandatory_spatial_ref_sys_rows(store: GeoPackageStore, gpkg_path: Path) -> None:
    rows = sql(
        gpkg_path,
        "SELECT srs_id, srs_name, organization, organization_coordsys_id, definition "
        "FROM gpkg_spatial_ref_sys ORDER BY srs_id",
    )
    assert [r[:4] for r in rows] == [
        (-1, "Undefined cartesian SRS", "NONE", -1),
        (0, "Undefined geographic SRS", "NONE", 0),
        (4326, "WGS 84 geodetic", "EPSG", 4326),
    ]
    assert rows[0][4] == rows[1][4] == "undefined"
    assert rows[2][4].startswith('GEOGCS["WGS 84"') and 'AUTHORITY["EPSG","4326"]]' in rows[2][4]


def test_contents_and_geometry_columns(store: GeoPackageStore, gpkg_path: Path) -> None:
    contents = sql(
        gpkg_path,
        "SELECT table_name, data_type, identifier, srs_id FROM gpkg_contents ORDER BY 1",
    )
    assert contents == [
        ("observations", "features", "observations", 4326),
        ("towers", "features", "towers", 4326),
        ("treatments", "features", "treatments", 4326),
    ]
    columns = sql(gpkg_path, "SELECT * FROM gpkg_geometry_columns ORDER BY table_name")
    assert columns == [
        ("observations", "geom", "POINT", 4326, 2, 0),
        ("towers", "geom", "POLYGON", 4326, 0, 0),
        ("treatments", "geom", "MULTIPOLYGON", 4326, 0, 0),
    ]


def test_own_tables_are_not_in_contents(store: GeoPackageStore, gpkg_path: Path) -> None:
    names = {r[0] for r in sql(gpkg_path, "SELECT table_name FROM gpkg_contents")}
    assert not names & {"blightmap_keys", "blightmap_meta"}
    assert sql(gpkg_path, "SELECT value FROM blightmap_meta WHERE key = 'data_version'") == [("0",)]


def test_extensions_are_registered(store: GeoPackageStore, gpkg_path: Path) -> None:
    rows = sql(
        gpkg_path,
        "SELECT table_name, column_name, extension_name, scope FROM gpkg_extensions ORDER BY 1",
    )
    assert rows == [
        ("gpkg_data_column_constraints", None, "gpkg_schema", "read-write"),
        ("gpkg_data_columns", None, "gpkg_schema", "read-write"),
        ("observations", "geom", "gpkg_rtree_index", "write-only"),
        ("towers", "geom", "gpkg_rtree_index", "write-only"),
        ("treatments", "geom", "gpkg_rtree_index", "write-only"),
    ]


def test_json_columns_are_described(store: GeoPackageStore, gpkg_path: Path) -> None:
    rows = sql(gpkg_path, "SELECT table_name, column_name, mime_type FROM gpkg_data_columns")
    assert sorted(rows) == [
        ("towers", "extra", "application/json"),
        ("towers", "tiers", "application/json"),
    ]


@pytest.mark.parametrize("table", ["towers", "observations"])
def test_rtree_index_matches_the_spec(store: GeoPackageStore, gpkg_path: Path, table: str) -> None:
    name = f"rtree_{table}_geom"
    assert sql(gpkg_path, "SELECT sql FROM sqlite_master WHERE name = ?", (name,)) == [
        (f"CREATE VIRTUAL TABLE {name} USING rtree(id, minx, maxx, miny, maxy)",)
    ]
    triggers = dict(
        sql(
            gpkg_path,
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            (table,),
        )
    )
    expected = {
        f"{name}_{suffix}"
        for suffix in ("insert", "update1", "update2", "update3", "update4", "delete")
    }
    assert set(triggers) == expected
    spec = {
        t.replace("<t>", table).replace("<c>", "geom").replace("<i>", "fid")
        for t in _RTREE_TRIGGERS
    }
    assert set(triggers.values()) == spec


def test_observation_indexes(store: GeoPackageStore, gpkg_path: Path) -> None:
    indexed = {
        sql(gpkg_path, f"PRAGMA index_info({name})")[0][2]
        for (name,) in sql(
            gpkg_path,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observations' "
            "AND sql IS NOT NULL",
        )
    }
    assert indexed == {"observed_at", "tower_id"}


def test_integrity_and_foreign_keys_after_writes(store: GeoPackageStore, gpkg_path: Path) -> None:
    store.upsert_towers([make_tower(i) for i in range(5)])
    store.add_observations([make_observation(i) for i in range(300)])
    store.delete_tower("T001")
    assert sql(gpkg_path, "PRAGMA integrity_check") == [("ok",)]
    assert sql(gpkg_path, "PRAGMA foreign_key_check") == []


def test_reopening_changes_nothing(gpkg_path: Path) -> None:
    with GeoPackageStore(gpkg_path) as first:
        first.upsert_towers([make_tower(i) for i in range(3)])
        first.add_observations([make_observation(i) for i in range(20)])
        version = first.data_version()
    digest = _digest(gpkg_path)
    schema = sql(gpkg_path, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    with GeoPackageStore(gpkg_path) as second:
        assert second.data_version() == version
        assert second.counts() == {"towers": 3, "observations": 20, "keys": 0}
    assert _digest(gpkg_path) == digest
    assert sql(gpkg_path, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema


def test_initializes_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    path.touch()
    with GeoPackageStore(path) as store:
        assert store.counts() == {"towers": 0, "observations": 0, "keys": 0}
    assert sql(path, "PRAGMA application_id") == [(0x47504B47,)]


def test_initializes_an_empty_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "blank.gpkg"
    sqlite3.connect(path).close()
    with GeoPackageStore(path) as store:
        assert store.data_version() == 0


def test_refuses_another_applications_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "other.gpkg"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    connection.commit()
    connection.close()
    digest = _digest(path)
    with pytest.raises(StoreError, match="not a GeoPackage"):
        GeoPackageStore(path)
    assert _digest(path) == digest  # not even switched to WAL
    assert sql(path, "PRAGMA journal_mode") == [("delete",)]


def test_refuses_a_foreign_geopackage(tmp_path: Path) -> None:
    import geopandas as gpd

    path = tmp_path / "parks.gpkg"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(5, 52)], crs="EPSG:4326").to_file(
        path, layer="parks", engine="pyogrio"
    )
    with pytest.raises(StoreError, match="not a blightmap store"):
        GeoPackageStore(path)


def test_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.gpkg"
    path.write_bytes(b"these are not the pages you are looking for\n" * 100)
    with pytest.raises(StoreError, match="not a database"):
        GeoPackageStore(path)


def test_refuses_a_newer_layout(gpkg_path: Path) -> None:
    GeoPackageStore(gpkg_path).close()
    connection = sqlite3.connect(gpkg_path)
    connection.execute("UPDATE blightmap_meta SET value = '99' WHERE key = 'schema_version'")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="newer blightmap"):
        GeoPackageStore(gpkg_path)


def test_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        GeoPackageStore(tmp_path / "nowhere" / "store.gpkg")


def test_gdal_identifies_a_fresh_store(store: GeoPackageStore, gpkg_path: Path) -> None:
    # GDAL's warnings fail the read: a bad application_id on disk would fail here.
    gdal = read_with_gdal(gpkg_path)
    assert gdal["layers"]["towers"] == "Polygon"
    assert gdal["layers"]["observations"] == "Point Z"  # z = 2 (optional)
    assert gdal["info"]["towers"]["features"] == 0


def test_describe_and_kind(store: GeoPackageStore, gpkg_path: Path) -> None:
    assert store.describe() == {"kind": "geopackage", "path": str(gpkg_path)}
    assert store.kind == "geopackage"


def test_closed_store_refuses_work(gpkg_path: Path) -> None:
    store = GeoPackageStore(gpkg_path)
    store.counts()
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.counts()
    with pytest.raises(StoreError, match="closed"):
        store.add_observations([make_observation(0)])


def test_a_schema_1_store_is_migrated_on_open(gpkg_path: Path) -> None:
    GeoPackageStore(gpkg_path).close()
    connection = sqlite3.connect(gpkg_path)
    with connection:
        connection.execute("DROP TABLE treatments")
        connection.execute("DROP TABLE rtree_treatments_geom")
        for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions"):
            connection.execute(f"DELETE FROM {table} WHERE table_name = 'treatments'")
        connection.execute("UPDATE blightmap_meta SET value = '1' WHERE key = 'schema_version'")
    connection.close()
    store = GeoPackageStore(gpkg_path)
    try:
        assert store.list_treatments() == []
    finally:
        store.close()
    assert sql(gpkg_path, "SELECT value FROM blightmap_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    assert sql(gpkg_path, "SELECT count(*) FROM gpkg_contents WHERE table_name = 'treatments'") == [
        (1,)
    ]


def test_a_schema_2_store_with_point_towers_is_migrated_to_polygons(gpkg_path: Path) -> None:
    with GeoPackageStore(gpkg_path) as store:
        store.create_tower(make_tower(0))
    point = encode_geometry(Point(5.2, 52.2), 4326, output_dimension=2)
    connection = sqlite3.connect(gpkg_path)
    register_sql_functions(connection)
    with connection:  # what schema 2 allowed: a GEOMETRY layer holding a Point
        connection.execute("UPDATE towers SET geom = ?", (point,))
        connection.execute(
            "UPDATE gpkg_geometry_columns SET geometry_type_name = 'GEOMETRY' "
            "WHERE table_name = 'towers'"
        )
        connection.execute("UPDATE blightmap_meta SET value = '2' WHERE key = 'schema_version'")
    connection.close()
    with GeoPackageStore(gpkg_path) as store:
        tower = store.get_tower("T000")
    assert tower is not None and tower.footprint_wgs84.geom_type == "Polygon"
    assert tower.footprint_wgs84.centroid.distance(Point(5.2, 52.2)) < 1e-6
    assert sql(
        gpkg_path,
        "SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = 'towers'",
    ) == [("POLYGON",)]
    assert read_with_gdal(gpkg_path)["layers"]["towers"] == "Polygon"
