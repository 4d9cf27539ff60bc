"""The offline basemap read from a user's file in another CRS (issue 14, finding 7):
RD New GeoPackage and GeoJSON, a PMTiles archive of MVT; lon/lat out, on the spot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Geod
from shapely.geometry import Point, mapping

from geo.basemap import Basemap, read_basemap
from geo.errors import UnreadableFile
from tests.basemap_files import RD_NEW, rd_features, write_pmtiles, write_rd_gpkg
from tests.conftest import ORIGIN

GEOD = Geod(ellps="WGS84")


def _metres_from_origin(point: Point) -> float:
    return float(GEOD.inv(point.x, point.y, *ORIGIN)[2])


def _central_building(basemap: Basemap) -> Point:
    buildings = basemap.of_kind("building")
    return min((b.centroid for b in buildings), key=_metres_from_origin)


def test_a_geopackage_in_rd_new_lands_in_lonlat(tmp_path: Path) -> None:
    basemap = read_basemap(write_rd_gpkg(tmp_path / "city.gpkg"))
    assert len(basemap.of_kind("building")) == 25 and len(basemap.of_kind("street")) == 12
    # the building built on the origin (in RD New metres) is on the origin in lon/lat
    assert _metres_from_origin(_central_building(basemap)) < 0.05
    minx, miny, maxx, _ = basemap.of_kind("building")[0].bounds
    assert GEOD.inv(minx, miny, maxx, miny)[2] == pytest.approx(12.0, abs=0.05)
    for feature in basemap.features:
        assert -180 <= feature.geometry_wgs84.bounds[0] <= 180


def test_a_geojson_without_crs_takes_the_given_one(tmp_path: Path) -> None:
    buildings, streets = rd_features()
    features = [
        {"type": "Feature", "geometry": mapping(g), "properties": {}} for g in buildings + streets
    ]
    path = tmp_path / "city.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(UnreadableFile, match="give the file's CRS"):
        read_basemap(path)  # metres read as degrees
    basemap = read_basemap(path, crs=RD_NEW)
    assert _metres_from_origin(_central_building(basemap)) < 0.05
    assert len(basemap.features) == 37


def test_a_pmtiles_archive_of_vector_tiles(tmp_path: Path) -> None:
    basemap = read_basemap(write_pmtiles(tmp_path / "city.pmtiles"))
    assert len(basemap.of_kind("building")) == 25 and len(basemap.of_kind("street")) >= 12
    # z16 tiles quantise to 4096 steps of ~0.15 m here
    assert _metres_from_origin(_central_building(basemap)) < 0.5


def test_the_stored_form_round_trips(tmp_path: Path) -> None:
    basemap = read_basemap(write_rd_gpkg(tmp_path / "city.gpkg"))
    again = Basemap.from_geojson(json.loads(json.dumps(basemap.to_geojson())))
    assert again == basemap
    near = basemap.within(
        (ORIGIN[0] - 0.0002, ORIGIN[1] - 0.0002, ORIGIN[0] + 0.0002, ORIGIN[1] + 0.0002)
    )
    assert 0 < len(near.features) < len(basemap.features)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("city.shp", b"", "a basemap is one of"),
        ("city.geojson", b"{not json", "not readable"),
        (
            "points.geojson",
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": [5.1, 52.1]},
                            "properties": {},
                        }
                    ],
                }
            ).encode(),
            "no building",
        ),
        ("city.pmtiles", b"not a pmtiles archive at all, not even close to one" * 4, "PMTiles"),
    ],
)
def test_unusable_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        read_basemap(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no such file"):
        read_basemap(tmp_path / "nowhere.gpkg")
