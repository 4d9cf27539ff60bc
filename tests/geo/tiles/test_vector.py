"""Vector tiles decode with mapbox_vector_tile and hold the right features, clipped."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box, shape

from geo.errors import InvalidParameter
from geo.tiles.features import tower_features, zone_features
from geo.tiles.matrix import tile_bounds, tile_matrix_set
from geo.tiles.vector import MVT_EXTENT, VectorFeature, render_vector_tile
from geo.zones import RemedyZone
from tests.geo.conftest import make_tower, offset, square
from tests.geo.tiles.conftest import CENTRE_LONLAT

WEB = tile_matrix_set("WebMercatorQuad")
TO_WEB = Transformer.from_crs(4326, 3857, always_xy=True)


def decode(data: bytes) -> dict[str, Any]:
    """Decoded with y down, as the tile stores it."""
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        data, default_options={"y_coord_down": True}
    )
    return decoded


def tile_coords(tile: Any, lon: float, lat: float) -> tuple[float, float]:
    minx, miny, maxx, maxy = tile_bounds(WEB, tile)
    x, y = TO_WEB.transform(lon, lat)
    return (x - minx) / (maxx - minx) * MVT_EXTENT, (maxy - y) / (maxy - miny) * MVT_EXTENT


def zone(zone_id: str, lon: float, lat: float, half_m: float, rank: int) -> RemedyZone:
    polygon = square(lon, lat, half_m)
    return RemedyZone(
        id=zone_id, band=2, threshold_min=0.6, threshold_max=1.0, geometry_local=polygon,
        geometry_wgs84=polygon, area_m2=(2 * half_m) ** 2, mean_intensity=0.7,
        max_intensity=0.9, mean_std_error=0.05, towers=("T1", "T2"), tiers=(("T1", 0),),
        priority=2.1, rank=rank, dose_l_per_m2=0.5, ground_dose_l=10.0, tier_dose_l=1.0,
        total_dose_l=11.0,
    )  # fmt: skip


def test_towers_land_on_their_quantised_position_with_properties() -> None:
    lon, lat = CENTRE_LONLAT
    towers = [make_tower("T1", lon, lat, half_m=4.0), make_tower("T2", *offset(lon, lat, 60, 0))]
    values = {("T1", 0): (0.2, 0.05), ("T1", 1): (0.6, 0.1), ("T1", 2): (0.4, 0.07)}
    tile = WEB.tile(lon, lat, 17)
    layers = decode(render_vector_tile({"towers": tower_features(towers, values, 42)}, WEB, tile))
    features = {f["properties"]["id"]: f for f in layers["towers"]["features"]}
    assert set(features) == {"T1", "T2"}
    assert layers["towers"]["extent"] == MVT_EXTENT
    t1 = features["T1"]
    assert t1["geometry"]["type"] == "Point"
    expected = tile_coords(tile, *towers[0].centroid_lonlat)
    assert t1["geometry"]["coordinates"] == [pytest.approx(c, abs=0.5001) for c in expected]
    props = t1["properties"]
    assert props["intensity_max"] == pytest.approx(0.6)
    assert props["intensity_mean"] == pytest.approx(0.4)
    assert props["std_error_max"] == pytest.approx(0.1)
    assert props["tiers"] == 3 and props["field_version"] == 42
    assert "intensity_max" not in features["T2"]["properties"]  # no value: left out


def test_features_outside_the_buffered_tile_are_left_out() -> None:
    lon, lat = CENTRE_LONLAT
    tile = WEB.tile(lon, lat, 18)
    far = VectorFeature(Point(*offset(lon, lat, 2000, 0)), {"id": "far"})
    near = VectorFeature(Point(lon, lat), {"id": "near"})
    layers = decode(render_vector_tile({"towers": [far, near]}, WEB, tile))
    assert [f["properties"]["id"] for f in layers["towers"]["features"]] == ["near"]
    empty = render_vector_tile({"towers": [far]}, WEB, tile)
    assert decode(empty) == {}


@pytest.mark.parametrize("buffer_px", [0, 64])
def test_big_polygons_are_clipped_to_the_buffered_tile(buffer_px: int) -> None:
    lon, lat = CENTRE_LONLAT
    tile = WEB.tile(lon, lat, 18)
    zones = [zone("zone-b2-001", lon, lat, 500.0, 1)]  # 1 km wide, the tile is ~90 m
    data = render_vector_tile({"zones": zone_features(zones, 7)}, WEB, tile, buffer_px=buffer_px)
    (feature,) = decode(data)["zones"]["features"]
    geom = shape(feature["geometry"])
    lo, hi = -buffer_px, MVT_EXTENT + buffer_px
    assert geom.bounds == pytest.approx((lo, lo, hi, hi), abs=1)
    assert geom.area == pytest.approx((hi - lo) ** 2, rel=1e-3)
    props = feature["properties"]
    assert props["rank"] == 1 and props["dose_l_per_m2"] == 0.5 and props["towers"] == "T1,T2"
    assert props["field_version"] == 7


def test_small_polygon_is_kept_whole_and_in_place() -> None:
    lon, lat = CENTRE_LONLAT
    tile = WEB.tile(lon, lat, 16)
    zones = [zone("zone-b2-002", lon, lat, 20.0, 2)]
    (feature,) = decode(render_vector_tile({"zones": zone_features(zones)}, WEB, tile))["zones"][
        "features"
    ]
    geom = shape(feature["geometry"])
    corners = [tile_coords(tile, x, y) for x, y in zones[0].geometry_wgs84.exterior.coords]
    expected = box(*shape({"type": "Polygon", "coordinates": [corners]}).bounds)
    assert geom.bounds == pytest.approx(expected.bounds, abs=1.0)
    assert geom.is_valid and "field_version" not in feature["properties"]


def test_values_must_be_scalars() -> None:
    with pytest.raises(InvalidParameter) as err:
        VectorFeature(Point(0, 0), {"towers": ["T1"]})  # type: ignore[dict-item]
    assert err.value.field == "towers"
