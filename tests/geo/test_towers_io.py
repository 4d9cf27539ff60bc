from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon

from geo.errors import InvalidCRS, InvalidGeometry, InvalidTower, UnreadableFile
from geo.layer import Tier, Tower
from geo.towers_io import (
    read_towers,
    towers_from_geodataframe,
    towers_to_geodataframe,
    write_towers,
)
from tests.geo.conftest import BERLIN, make_tower, square

DEG_TOL = 1e-7


def assert_same_towers(actual: list[Tower], expected: list[Tower], tol: float = 1e-9) -> None:
    assert [t.id for t in actual] == [t.id for t in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got.footprint_wgs84.geom_type == want.footprint_wgs84.geom_type
        assert shapely.hausdorff_distance(got.footprint_wgs84, want.footprint_wgs84) <= tol
        assert (got.name, got.district) == (want.name, want.district)
        assert got.base_height_m == pytest.approx(want.base_height_m)
        assert got.height_m == pytest.approx(want.height_m)
        assert got.tiers == want.tiers
        assert dict(got.extra) == dict(want.extra)


GROUND_M = 34.0  # ground above the ellipsoid near BERLIN (geoid ~ 39 m)


def feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    properties.setdefault("base_height_m", GROUND_M)
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, *features: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def point(lon: float = BERLIN[0], lat: float = BERLIN[1]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    pd.DataFrame([{"base_height_m": GROUND_M, **row} for row in rows]).to_csv(path, index=False)
    return path


# --- reprojection -------------------------------------------------------------------


@pytest.mark.parametrize("epsg", [28992, 25832, 25833, 3857])
def test_projected_geojson_lands_at_the_right_lonlat(
    tmp_path: Path, towers: list[Tower], epsg: int
) -> None:
    frame = towers_to_geodataframe(towers).to_crs(epsg=epsg)
    path = tmp_path / "towers.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    raw = json.loads(path.read_text())
    x, y = raw["features"][0]["geometry"]["coordinates"]  # T-03, a point
    assert abs(x) > 1000.0 and abs(y) > 1000.0  # the file holds metres, not degrees

    read = read_towers(path)

    assert_same_towers(read, towers, tol=DEG_TOL)
    for got, want in zip(read, towers, strict=True):
        assert got.centroid_lonlat == pytest.approx(want.centroid_lonlat, abs=DEG_TOL)


def test_crs_conflicting_with_the_file_is_rejected(tmp_path: Path, towers: list[Tower]) -> None:
    path = tmp_path / "towers.gpkg"
    towers_to_geodataframe(towers).to_crs(epsg=28992).to_file(path, engine="pyogrio")
    assert len(read_towers(path, crs="EPSG:28992")) == len(towers)
    with pytest.raises(InvalidCRS) as info:
        read_towers(path, crs="EPSG:4326")
    assert info.value.field == "crs"


def test_unknown_crs_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [{"id": "a", "lon": 1.0, "lat": 2.0, "height_m": 5}])
    with pytest.raises(InvalidCRS) as info:
        read_towers(path, crs="EPSG:999999")
    assert info.value.field == "crs"


# --- CSV ------------------------------------------------------------------------------


def test_csv_in_web_mercator_with_xy_columns(tmp_path: Path, towers: list[Tower]) -> None:
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    rows = []
    for tower in towers:
        x, y = to_mercator.transform(*tower.centroid_lonlat)
        rows.append(
            {"id": tower.id, "x": x, "y": y, "height_m": tower.height_m, "base_height_m": 44.5}
        )
    path = write_csv(tmp_path / "towers.csv", rows)

    read = read_towers(path, crs="EPSG:3857")

    assert [t.id for t in read] == [t.id for t in towers]
    for got, want in zip(read, towers, strict=True):
        assert got.footprint_wgs84.geom_type == "Point"
        assert got.centroid_lonlat == pytest.approx(want.centroid_lonlat, abs=DEG_TOL)
        assert got.tiers == (Tier(0, 0.0),)
        assert got.base_height_m == 44.5
        assert dict(got.extra) == {}


def test_a_missing_base_height_is_refused_not_zero(tmp_path: Path) -> None:
    """Issue 13, finding 7: a tower without base_height_m got 0 m ellipsoidal, about
    46 m underground in Utrecht. Now the file is refused, naming the field."""
    path = tmp_path / "towers.csv"
    pd.DataFrame([{"id": "T-1", "lon": 5.1214, "lat": 52.0907, "height_m": 12.0}]).to_csv(
        path, index=False
    )
    with pytest.raises(InvalidTower, match="above the WGS84 ellipsoid") as caught:
        read_towers(path)
    assert caught.value.field == "rows.0.base_height_m"


@pytest.mark.parametrize(
    ("columns", "kwargs"),
    [
        (("lon", "lat"), {}),
        (("longitude", "latitude"), {}),
        (("Longitude", "Latitude"), {}),
        (("X", "Y"), {}),
        (("LNG", "LAT"), {"lon_column": "LNG", "lat_column": "LAT"}),
        (
            ("easting_deg", "northing_deg"),
            {"lon_column": "easting_deg", "lat_column": "northing_deg"},
        ),
    ],
)
def test_csv_coordinate_columns(
    tmp_path: Path, columns: tuple[str, str], kwargs: dict[str, Any]
) -> None:
    lon_name, lat_name = columns
    path = write_csv(
        tmp_path / "t.csv", [{"id": "a", lon_name: 13.4, lat_name: 52.5, "height_m": 9.0}]
    )
    [tower] = read_towers(path, **kwargs)
    assert tower.centroid_lonlat == (13.4, 52.5)
    assert lon_name not in tower.extra and lat_name not in tower.extra


def test_csv_keeps_text_ids_and_names(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "id,name,lon,lat,height_m,base_height_m,owner,plots\n007,NA,13.4,52.5,9,34,,3\n"
    )
    [tower] = read_towers(path)
    assert tower.id == "007"
    assert tower.name == "NA"
    assert dict(tower.extra) == {"plots": 3}


def test_csv_without_coordinates_is_unreadable(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [{"id": "a", "east": 1.0, "north": 2.0}])
    with pytest.raises(UnreadableFile) as info:
        read_towers(path)
    assert info.value.field == "file"


def test_csv_with_a_bad_coordinate_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,lon,lat,height_m\na,13.4,52.5,9\nb,east,52.5,9\n")
    with pytest.raises(InvalidGeometry) as info:
        read_towers(path)
    assert info.value.field == "rows.1.lon"
    assert "east" not in info.value.reason


def test_csv_out_of_range_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,lon,lat,height_m,base_height_m\na,13.4,52.5,9,34\nb,13.4,95.0,9,34\n")
    with pytest.raises(InvalidGeometry) as info:
        read_towers(path)
    assert info.value.field == "rows.1.geometry"
    assert "latitude" in info.value.reason


# --- Shapefile, GeoPackage, GeoJSON round trips ---------------------------------------


def test_zipped_shapefile_round_trip(tmp_path: Path, towers: list[Tower]) -> None:
    polygons = [t for t in towers if t.footprint_wgs84.geom_type == "Polygon"]
    frame = towers_to_geodataframe(polygons).to_crs(epsg=25833)
    # dBase field names have at most 10 characters.
    frame = frame.rename(columns={"base_height_m": "base_heigh"})
    shp = tmp_path / "shp" / "towers.shp"
    shp.parent.mkdir()
    frame.to_file(shp, engine="pyogrio")
    archive = tmp_path / "towers.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in shp.parent.iterdir():
            zipped.write(part, part.name)

    read = read_towers(archive)

    assert_same_towers(read, polygons, tol=DEG_TOL)
    assert read[0].base_height_m == 34.0


def test_shapefile_without_prj_uses_the_given_crs(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["a"], "height_m": [9.0], "base_heigh": [GROUND_M]},
        geometry=[Point(391_779.0, 5_820_072.0)],
    )
    shp = tmp_path / "towers.shp"
    with pytest.warns(UserWarning, match="crs"):
        frame.to_file(shp, engine="pyogrio")
    assert not shp.with_suffix(".prj").exists()
    archive = tmp_path / "towers.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("towers.*"):
            if part != archive:
                zipped.write(part, part.name)
    [tower] = read_towers(archive, crs="EPSG:32633")
    assert tower.centroid_lonlat == pytest.approx(BERLIN, abs=1e-5)


def test_gpkg_round_trip(tmp_path: Path, towers: list[Tower]) -> None:
    path = tmp_path / "towers.gpkg"
    write_towers(towers, path)
    assert pyogrio.list_layers(path)[0][0] == "towers"
    assert_same_towers(read_towers(path), towers)


def test_gpkg_layer_choice(tmp_path: Path, towers: list[Tower]) -> None:
    path = tmp_path / "towers.gpkg"
    towers_to_geodataframe(towers[:2]).to_file(path, layer="first", engine="pyogrio")
    towers_to_geodataframe(towers[2:]).to_file(path, layer="second", engine="pyogrio")
    assert [t.id for t in read_towers(path)] == [t.id for t in towers[:2]]
    assert [t.id for t in read_towers(path, layer="second")] == [t.id for t in towers[2:]]
    with pytest.raises(UnreadableFile):
        read_towers(path, layer="third")


def test_geojson_round_trip_is_rfc7946(tmp_path: Path, towers: list[Tower]) -> None:
    path = tmp_path / "towers.geojson"
    clockwise = make_tower("T-07", *BERLIN, half_m=3.0)
    clockwise = Tower(
        clockwise.id,
        clockwise.footprint_wgs84.reverse(),
        clockwise.base_height_m,
        clockwise.height_m,
        clockwise.tiers,
    )
    assert not shapely.is_ccw(clockwise.footprint_wgs84.exterior)
    write_towers([*towers, clockwise], path)

    raw = json.loads(path.read_text())
    assert "crs" not in raw
    assert [f["id"] for f in raw["features"]] == [t.id for t in [*towers, clockwise]]
    for feat, tower in zip(raw["features"], [*towers, clockwise], strict=True):
        assert feat["properties"]["tiers"] == [tier.to_dict() for tier in tower.tiers]
        assert "id" not in feat["properties"]
        geometry = shapely.from_geojson(json.dumps(feat["geometry"]))
        if geometry.geom_type == "Polygon":
            assert shapely.is_ccw(geometry.exterior)

    assert_same_towers(read_towers(path), [*towers, clockwise], tol=DEG_TOL)


def test_write_replaces_an_existing_file(tmp_path: Path, towers: list[Tower]) -> None:
    for name in ("towers.geojson", "towers.gpkg"):
        path = tmp_path / name
        write_towers(towers, path)
        write_towers(towers[:1], path)
        assert [t.id for t in read_towers(path)] == [towers[0].id]


def test_write_with_explicit_driver(tmp_path: Path, towers: list[Tower]) -> None:
    path = tmp_path / "towers.txt"
    write_towers(towers, path, driver="GeoJSON")
    raw = json.loads(path.read_text())
    assert [f["id"] for f in raw["features"]] == [t.id for t in towers]


@pytest.mark.parametrize(("name", "driver"), [("towers.shp", None), ("t.gpkg", "CSV")])
def test_write_rejects_other_formats(
    tmp_path: Path, towers: list[Tower], name: str, driver: str | None
) -> None:
    with pytest.raises(ValueError, match="GeoJSON"):
        write_towers(towers, tmp_path / name, driver=driver)


def test_geodataframe_round_trip(towers: list[Tower]) -> None:
    frame = towers_to_geodataframe(towers)
    assert frame.crs.to_epsg() == 4326
    assert list(frame.columns[:6]) == [
        "id",
        "name",
        "district",
        "base_height_m",
        "height_m",
        "tiers",
    ]
    assert {"owner", "capacity", "organic", "rating"} <= set(frame.columns)
    assert json.loads(frame.loc[0, "tiers"]) == [t.to_dict() for t in towers[0].tiers]
    assert_same_towers(towers_from_geodataframe(frame), towers)


def test_geodataframe_without_crs_uses_the_given_crs() -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["a"], "height_m": [5.0], "base_height_m": [GROUND_M]},
        geometry=[Point(500_000.0, 0.0)],
    )
    [tower] = towers_from_geodataframe(frame, crs="EPSG:32633")
    assert tower.centroid_lonlat == pytest.approx((15.0, 0.0), abs=1e-9)


def test_empty_collections(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "empty.geojson")
    assert read_towers(path) == []
    assert towers_to_geodataframe([]).empty


# --- columns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "heights"),
    [
        ({"tier_count": 4}, [0.0, 3.0, 6.0, 9.0]),
        ({"tier_spacing_m": 4.0}, [0.0, 4.0, 8.0, 12.0]),
        ({"tier_spacing_m": 5.0}, [0.0, 5.0, 10.0]),
        ({"tier_count": 3, "tier_spacing_m": 2.5}, [0.0, 2.5, 5.0]),
        ({}, [0.0]),
        ({"tiers": json.dumps([{"level": 0, "height_m": 1.0, "crop": "basil"}])}, [1.0]),
        ({"tiers": [{"level": 0, "height_m": 0.5}, {"level": 1, "height_m": 6}]}, [0.5, 6.0]),
    ],
)
def test_tiers(tmp_path: Path, properties: dict[str, Any], heights: list[float]) -> None:
    path = write_geojson(
        tmp_path / "t.geojson", feature(point(), id="a", height_m=12.0, **properties)
    )
    [tower] = read_towers(path)
    assert [t.height_m for t in tower.tiers] == heights
    assert [t.level for t in tower.tiers] == list(range(len(heights)))
    assert dict(tower.extra) == {}


def test_tier_crop_is_kept(tmp_path: Path) -> None:
    tiers = [{"level": 0, "height_m": 0.0, "crop": "basil"}, {"level": 1, "height_m": 2.0}]
    path = write_geojson(tmp_path / "t.geojson", feature(point(), id="a", height_m=3, tiers=tiers))
    [tower] = read_towers(path)
    assert tower.tiers == (Tier(0, 0.0, "basil"), Tier(1, 2.0, ""))


def test_tower_id_column_and_extra_scalars(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "t.geojson",
        feature(
            point(),
            tower_id="T-9",
            height_m=3,
            name="Roof",
            district="north",
            owner="coop",
            plots=12,
            rating=4.5,
            organic=True,
            tags=["a", "b"],
            note=None,
        ),
    )
    [tower] = read_towers(path)
    assert tower.id == "T-9"
    assert (tower.name, tower.district) == ("Roof", "north")
    assert dict(tower.extra) == {"owner": "coop", "plots": 12, "rating": 4.5, "organic": True}
    assert json.loads(json.dumps(tower.properties()))["owner"] == "coop"


def test_single_part_multipolygon_and_3d_points_are_simplified(tmp_path: Path) -> None:
    multi = MultiPolygon([square(*BERLIN, 5.0)])
    path = write_geojson(
        tmp_path / "t.geojson",
        feature(json.loads(shapely.to_geojson(multi)), id="a", height_m=3),
        feature({"type": "Point", "coordinates": [13.41, 52.52, 40.0]}, id="b", height_m=3),
    )
    a, b = read_towers(path)
    assert a.footprint_wgs84.geom_type == "Polygon"
    assert not b.footprint_wgs84.has_z


def test_progress_is_reported(tmp_path: Path, towers: list[Tower]) -> None:
    path = tmp_path / "t.gpkg"
    write_towers(towers, path)
    calls: list[tuple[int, int]] = []
    read_towers(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(towers), len(towers))


# --- errors name the row --------------------------------------------------------------


def test_bow_tie_polygon_is_rejected_with_shapely_reason(tmp_path: Path) -> None:
    lon, lat = BERLIN
    bow_tie = Polygon(
        [(lon, lat), (lon + 0.001, lat + 0.001), (lon + 0.001, lat), (lon, lat + 0.001)]
    )
    path = write_geojson(
        tmp_path / "t.geojson",
        feature(point(), id="ok", height_m=3),
        feature(json.loads(shapely.to_geojson(bow_tie)), id="bad", height_m=3),
    )
    with pytest.raises(InvalidGeometry) as info:
        read_towers(path)
    assert info.value.field == "rows.1.geometry"
    assert "Self-intersection" in info.value.reason


@pytest.mark.parametrize(
    ("properties", "error", "field"),
    [
        ({"id": "a"}, InvalidTower, "rows.1.height_m"),
        ({"id": "a", "height_m": "tall"}, InvalidTower, "rows.1.height_m"),
        ({"id": "a", "height_m": 5000}, InvalidTower, "rows.1.height_m"),
        ({"id": "a", "height_m": 5, "base_height_m": "high"}, InvalidTower, "rows.1.base_height_m"),
        ({"height_m": 5}, InvalidTower, "rows.1.id"),
        ({"id": "no spaces", "height_m": 5}, InvalidTower, "rows.1.id"),
        ({"id": "first", "height_m": 5}, InvalidTower, "rows.1.id"),
        ({"id": "a", "height_m": 5, "tiers": "not json"}, InvalidTower, "rows.1.tiers"),
        ({"id": "a", "height_m": 5, "tiers": {"level": 0}}, InvalidTower, "rows.1.tiers"),
        ({"id": "a", "height_m": 5, "tiers": [3]}, InvalidTower, "rows.1.tiers.0"),
        ({"id": "a", "height_m": 5, "tiers": [{"level": 0}]}, InvalidTower, "rows.1.tiers.0"),
        (
            {"id": "a", "height_m": 5, "tiers": [{"level": 0, "height_m": "x"}]},
            InvalidTower,
            "rows.1.tiers.0.height_m",
        ),
        (
            {"id": "a", "height_m": 5, "tiers": [{"level": 0.5, "height_m": 0}]},
            InvalidTower,
            "rows.1.tiers.0.level",
        ),
        (
            {"id": "a", "height_m": 5, "tiers": [{"level": 1, "height_m": 0}]},
            InvalidTower,
            "rows.1.tiers.0",
        ),
        (
            {"id": "a", "height_m": 5, "tiers": [{"level": 0, "height_m": 9}]},
            InvalidTower,
            "rows.1.tiers.0",
        ),
        ({"id": "a", "height_m": 5, "tier_count": 0}, InvalidTower, "rows.1.tier_count"),
        ({"id": "a", "height_m": 5, "tier_count": 2.5}, InvalidTower, "rows.1.tier_count"),
        ({"id": "a", "height_m": 5, "tier_spacing_m": 0}, InvalidTower, "rows.1.tier_spacing_m"),
        ({"id": "a", "height_m": 5, "tier_spacing_m": 1e-9}, InvalidTower, "rows.1.tier_count"),
        (
            {"id": "a", "height_m": 5, "tier_count": 3, "tier_spacing_m": 4},
            InvalidTower,
            "rows.1.tiers.2",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:Could not parse column:UserWarning")
def test_bad_rows_are_named(
    tmp_path: Path, properties: dict[str, Any], error: type[Exception], field: str
) -> None:
    path = write_geojson(
        tmp_path / "t.geojson",
        feature(point(), id="first", height_m=5),
        feature(point(13.41, 52.52), **properties),
    )
    with pytest.raises(error) as info:
        read_towers(path)
    assert info.value.field == field  # type: ignore[attr-defined]


def test_missing_geometry_names_the_row(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "t.geojson",
        feature(point(), id="a", height_m=5),
        {
            "type": "Feature",
            "properties": {"id": "b", "height_m": 5, "base_height_m": 1},
            "geometry": None,
        },
    )
    with pytest.raises(InvalidGeometry) as info:
        read_towers(path)
    assert info.value.field == "rows.1.geometry"


def test_line_geometry_is_rejected(tmp_path: Path) -> None:
    line = {"type": "LineString", "coordinates": [[13.4, 52.5], [13.5, 52.5]]}
    path = write_geojson(tmp_path / "t.geojson", feature(line, id="a", height_m=5))
    with pytest.raises(InvalidGeometry) as info:
        read_towers(path)
    assert info.value.field == "rows.0.geometry"
    assert "LineString" in info.value.reason


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("towers.geojson", "{not json"),
        ("towers.json", ""),
        ("towers.gpkg", "SQLite format 3 but not really"),
        ("towers.zip", "PK not a zip"),
        ("towers.txt", "id,lon,lat"),
        ("towers.kml", "<kml/>"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UnreadableFile) as info:
        read_towers(path)
    assert info.value.field == "file"
    assert str(tmp_path) not in info.value.reason


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile):
        read_towers(tmp_path / "nowhere.geojson")
