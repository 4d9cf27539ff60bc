from __future__ import annotations

import dataclasses
import math
import re

import pytest
import shapely
from shapely.geometry import Point, Polygon

from geo.district import SWAPPED_HINT, District
from geo.errors import InvalidGeometry, OutsideDistrict
from geo.layer import Tower
from geo.tower_index import TowerIndex
from tests.geo.conftest import BERLIN, geodesic_m, make_tower, offset, square

# A tower on Tokyo's waterfront: swapping its lon/lat makes the latitude out of range.
TOKYO = (139.7745, 35.6195)


@pytest.fixture
def district(towers: list[Tower]) -> District:
    return District.from_towers(towers, margin_m=1000.0)


def km_in(reason: str) -> float:
    match = re.search(r"lies ([\d,.]+) km", reason)
    assert match is not None, reason
    return float(match.group(1).replace(",", ""))


def test_bbox_is_the_bounds_of_the_towers(district: District, towers: list[Tower]) -> None:
    expected = shapely.total_bounds([t.footprint_wgs84 for t in towers])
    assert district.bbox_wgs84 == pytest.approx(tuple(expected), abs=0.0)
    assert district.margin_m == 1000.0
    assert not district.is_empty


def test_frame_matches_the_tower_index(district: District, towers: list[Tower]) -> None:
    assert district.frame is not None
    assert district.frame == TowerIndex(towers).frame
    assert district.frame.epsg == 32633


def test_area_is_the_buffered_hull(district: District, towers: list[Tower]) -> None:
    assert district.frame is not None
    for tower in towers:
        local = district.frame.geometry_to_local(tower.footprint_wgs84)
        assert district.hull_local.covers(local)
    assert district.hull_local.geom_type == "Polygon"
    expected = district.hull_local.buffer(1000.0).area
    assert district.area_local.area == pytest.approx(expected, rel=1e-9)
    assert district.area_local.contains(district.hull_local)


def test_every_tower_is_inside(district: District, towers: list[Tower]) -> None:
    for tower in towers:
        assert district.contains(*tower.centroid_lonlat)
        assert district.distance_m(*tower.centroid_lonlat) == 0.0


@pytest.mark.parametrize(
    ("beyond_m", "inside"), [(0.0, True), (500.0, True), (990.0, True), (1010.0, False)]
)
def test_contains_up_to_the_margin(district: District, beyond_m: float, inside: bool) -> None:
    # T-06, 1.5 km east of the centre, is the easternmost tower.
    far_east = offset(*BERLIN, 1500.0 + beyond_m, 200.0)
    assert district.contains(*far_east) is inside


def test_distance_matches_geodesic_for_a_point_tower() -> None:
    district = District.from_towers([make_tower("solo", *BERLIN)])
    for east_m, north_m in [(3000.0, 0.0), (0.0, -7000.0), (2000.0, 2000.0)]:
        lon, lat = offset(*BERLIN, east_m, north_m)
        expected = geodesic_m(*BERLIN, lon, lat)
        assert district.distance_m(lon, lat) == pytest.approx(expected, rel=1e-3)


def test_distance_far_away_is_geodesic(district: District, towers: list[Tower]) -> None:
    lon, lat = -70.6, -33.4  # Santiago de Chile
    expected = min(geodesic_m(lon, lat, *t.centroid_lonlat) for t in towers)
    assert district.distance_m(lon, lat) == pytest.approx(expected, rel=1e-3)
    assert district.distance_m(lon, lat) > 12_000_000.0


def test_check_point_accepts_points_within_the_margin(district: District) -> None:
    district.check_point(*BERLIN, "geometry")
    district.check_point(*offset(*BERLIN, -1200.0, -1400.0), "geometry")  # 500 m S of T-05


def test_check_point_rejects_with_distance_in_km(district: District) -> None:
    lon, lat = offset(*BERLIN, 3000.0 + 1500.0, 200.0)  # 3 km east of T-06
    with pytest.raises(OutsideDistrict) as info:
        district.check_point(lon, lat, "features.3.geometry")
    error = info.value
    assert error.field == "features.3.geometry"
    assert km_in(error.reason) == pytest.approx(3.0, abs=0.011)
    assert "at most 1.00 km" in error.reason
    assert SWAPPED_HINT not in error.reason
    assert f"{lon:.3f}" not in error.reason and f"{lat:.3f}" not in error.reason


@pytest.mark.parametrize(("lon", "lat"), [(-70.6, -33.4), (151.2, -33.9), (13.4, -52.5)])
def test_far_points_get_no_swap_hint(district: District, lon: float, lat: float) -> None:
    with pytest.raises(OutsideDistrict) as info:
        district.check_point(lon, lat, "geometry")
    assert SWAPPED_HINT not in info.value.reason
    assert km_in(info.value.reason) > 1000.0


def test_swapped_point_gets_a_hint(district: District) -> None:
    lon, lat = offset(*BERLIN, 100.0, 100.0)
    with pytest.raises(OutsideDistrict) as info:
        district.check_point(lat, lon, "features.0.geometry")
    assert info.value.reason.endswith(SWAPPED_HINT)
    assert "[lon, lat]" in info.value.reason
    assert km_in(info.value.reason) > 4000.0
    assert f"{lat:.4f}" not in info.value.reason


def test_swapped_point_with_latitude_out_of_range_gets_a_hint() -> None:
    district = District.from_towers([make_tower("tokyo", *TOKYO)])
    lon, lat = TOKYO
    with pytest.raises(InvalidGeometry) as info:
        district.check_point(lat, lon, "geometry")
    assert info.value.field == "geometry"
    assert "latitude" in info.value.reason
    assert info.value.reason.endswith(SWAPPED_HINT)


def test_out_of_range_without_swap_hint(district: District) -> None:
    with pytest.raises(InvalidGeometry) as info:
        district.check_point(13.4, 152.5, "geometry")
    assert SWAPPED_HINT not in info.value.reason


def test_empty_district() -> None:
    district = District.empty()
    assert district.is_empty
    assert district.frame is None
    assert district.bbox_wgs84 is None
    assert district.area_local.is_empty
    assert not district.contains(*BERLIN)
    assert district.distance_m(*BERLIN) == math.inf
    for lon, lat in [BERLIN, (-70.6, -33.4), (200.0, 100.0)]:
        district.check_point(lon, lat, "geometry")
    district.check_tower(Point(-70.6, -33.4), "geometry")
    assert District.from_towers([]) == District.empty()


def test_check_tower_near_the_district(district: District) -> None:
    district.check_tower(square(*offset(*BERLIN, 20_000.0, 0.0), 10.0), "geometry")
    district.check_tower(Point(offset(*BERLIN, 0.0, -45_000.0)), "geometry")


def test_check_tower_far_from_the_district(district: District) -> None:
    footprint = square(*offset(*BERLIN, 1500.0 + 60_000.0, 0.0), 10.0)
    with pytest.raises(OutsideDistrict) as info:
        district.check_tower(footprint, "features.2.geometry")
    assert info.value.field == "features.2.geometry"
    assert km_in(info.value.reason) == pytest.approx(60.0, abs=0.1)
    assert "at most 50.0 km" in info.value.reason
    assert SWAPPED_HINT not in info.value.reason


def test_check_tower_custom_limit(district: District) -> None:
    footprint = Point(offset(*BERLIN, 0.0, 10_000.0))
    district.check_tower(footprint, "geometry")
    with pytest.raises(OutsideDistrict):
        district.check_tower(footprint, "geometry", max_distance_m=5_000.0)


def test_span_is_the_longer_side_of_the_hull_bounds() -> None:
    wide = District.from_towers(
        [make_tower("a", *BERLIN), make_tower("b", *offset(*BERLIN, 3000.0, 1000.0))]
    )
    assert wide.span_m() == pytest.approx(3000.0, rel=0.01)
    assert wide.span_m(Point(offset(*BERLIN, 0.0, 4000.0))) == pytest.approx(4000.0, rel=0.01)
    assert District.empty().span_m(Point(*BERLIN)) == 0.0


def test_check_tower_refuses_a_tower_that_stretches_the_district(district: District) -> None:
    far = Point(offset(*BERLIN, 44_000.0, 0.0))  # within max_distance_m (50 km)
    district.check_tower(far, "geometry")
    with pytest.raises(OutsideDistrict) as info:
        district.check_tower(far, "geometry", max_span_m=5_000.0)
    assert info.value.field == "geometry"
    assert "stretch the district to 4" in info.value.reason
    assert "at most 5.00 km" in info.value.reason
    district.check_tower(Point(offset(*BERLIN, 100.0, 0.0)), "geometry", max_span_m=5_000.0)


def test_a_district_already_too_wide_still_takes_towers_inside(district: District) -> None:
    wide = District.from_towers(
        [make_tower("a", *BERLIN), make_tower("b", *offset(*BERLIN, 9000.0, 0.0))]
    )
    inside = Point(offset(*BERLIN, 4500.0, 0.0))
    wide.check_tower(inside, "geometry", max_span_m=5_000.0)
    with pytest.raises(OutsideDistrict):
        wide.check_tower(Point(offset(*BERLIN, 9500.0, 0.0)), "geometry", max_span_m=5_000.0)


def test_check_tower_swapped_gets_a_hint(district: District) -> None:
    swapped = shapely.transform(square(*BERLIN, 10.0), lambda c: c[:, ::-1])
    with pytest.raises(OutsideDistrict) as info:
        district.check_tower(swapped, "geometry")
    assert info.value.reason.endswith(SWAPPED_HINT)


def test_check_tower_rejects_a_bow_tie(district: District) -> None:
    lon, lat = BERLIN
    bow_tie = Polygon(
        [(lon, lat), (lon + 0.001, lat + 0.001), (lon + 0.001, lat), (lon, lat + 0.001)]
    )
    with pytest.raises(InvalidGeometry) as info:
        district.check_tower(bow_tie, "features.1.geometry")
    assert info.value.field == "features.1.geometry"
    assert "Self-intersection" in info.value.reason


@pytest.mark.parametrize("margin_m", [-1.0, float("nan"), float("inf")])
def test_bad_margin_is_rejected(towers: list[Tower], margin_m: float) -> None:
    with pytest.raises(InvalidGeometry) as info:
        District.from_towers(towers, margin_m=margin_m)
    assert info.value.field == "margin_m"


def test_zero_margin_accepts_only_the_hull(towers: list[Tower]) -> None:
    district = District.from_towers(towers, margin_m=0.0)
    assert district.contains(*BERLIN)
    assert not district.contains(*offset(*BERLIN, 1600.0, 200.0))


def test_district_is_frozen(district: District) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        district.margin_m = 5.0  # type: ignore[misc]


def test_single_tower_district_is_a_disc() -> None:
    district = District.from_towers([make_tower("solo", *BERLIN)], margin_m=500.0)
    assert district.hull_local.geom_type == "Point"
    assert district.area_local.area == pytest.approx(math.pi * 500.0**2, rel=1e-2)
    assert district.bbox_wgs84 == (BERLIN[0], BERLIN[1], BERLIN[0], BERLIN[1])
