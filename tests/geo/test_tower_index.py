from __future__ import annotations

import pytest
from shapely.geometry import Point

from geo.crs import LocalFrame
from geo.errors import InvalidGeometry, InvalidTower
from geo.layer import Tower
from geo.tower_index import TowerIndex
from tests.geo.conftest import BERLIN, geodesic_m, make_tower, offset


@pytest.fixture
def index(towers: list[Tower]) -> TowerIndex:
    return TowerIndex(towers)


def ids(towers: list[Tower]) -> list[str]:
    return [t.id for t in towers]


def test_towers_are_ordered_by_id(index: TowerIndex) -> None:
    expected = ["T-01", "T-02", "T-03", "T-04", "T-05", "T-06"]
    assert [t.id for t in index.towers] == expected
    assert [t.id for t in index] == expected
    assert len(index) == 6


def test_get_and_contains(index: TowerIndex) -> None:
    tower = index.get("T-04")
    assert tower is not None and tower.name == "Yard"
    assert index.get("T-99") is None
    assert "T-02" in index
    assert "T-99" not in index


def test_frame_is_the_utm_zone_of_the_towers(index: TowerIndex) -> None:
    assert index.frame is not None
    assert index.frame.epsg == 32633


def test_explicit_frame_is_used(towers: list[Tower]) -> None:
    frame = LocalFrame.from_crs("EPSG:25833")
    assert TowerIndex(towers, frame=frame).frame is frame


def test_bbox_around_everything(index: TowerIndex) -> None:
    assert ids(index.query_bbox((13.0, 52.0, 14.0, 53.0))) == [t.id for t in index.towers]


def test_bbox_selects_by_footprint_and_orders_by_id(index: TowerIndex) -> None:
    lon, lat = BERLIN
    # North-east of about 10 m south of the centre: T-02 (north), T-03 (east), T-06
    # (far east); T-01's 20 m square reaches into it, the towers to the south do not.
    bbox = (lon, lat - 0.0001, lon + 0.1, lat + 0.1)
    assert ids(index.query_bbox(bbox)) == ["T-01", "T-02", "T-03", "T-06"]


def test_bbox_touching_only_a_footprint_edge_matches(index: TowerIndex) -> None:
    tower = index.get("T-04")
    assert tower is not None
    _, min_lat, max_lon, max_lat = tower.footprint_wgs84.bounds
    assert ids(index.query_bbox((max_lon, min_lat, max_lon + 0.0001, max_lat))) == ["T-04"]
    assert index.query_bbox((max_lon + 1e-6, min_lat, max_lon + 0.0001, max_lat)) == []


def test_bbox_crossing_the_antimeridian() -> None:
    towers = [
        make_tower("east", 179.9, -17.0),
        make_tower("west", -179.9, -17.1),
        make_tower("middle", 0.0, -17.0),
    ]
    index = TowerIndex(towers)
    assert ids(index.query_bbox((179.0, -18.0, -179.0, -16.0))) == ["east", "west"]


@pytest.mark.parametrize(
    "bbox",
    [
        (13.0, 52.0, 14.0),
        (13.0, 53.0, 14.0, 52.0),
        (13.0, 52.0, 14.0, 91.0),
        (-181.0, 52.0, 14.0, 53.0),
        (13.0, float("nan"), 14.0, 53.0),
    ],
)
def test_bad_bbox_is_rejected(index: TowerIndex, bbox: tuple[float, ...]) -> None:
    with pytest.raises(InvalidGeometry) as info:
        index.query_bbox(bbox)
    assert info.value.field == "bbox"


@pytest.mark.parametrize("radius_m", [250.0, 700.0, 1_000.0, 2_000.0])
def test_radius_distances_match_geodesic(index: TowerIndex, radius_m: float) -> None:
    lon, lat = offset(*BERLIN, 200.0, 100.0)
    found = index.within_radius_with_distances(lon, lat, radius_m)
    expected = {}
    for tower in index:
        if tower.footprint_wgs84.geom_type == "Point":
            distance = geodesic_m(lon, lat, *tower.centroid_lonlat)
            if distance <= radius_m:
                expected[tower.id] = distance
    found_points = {t.id: d for t, d in found if t.footprint_wgs84.geom_type == "Point"}
    assert found_points.keys() == expected.keys()
    for tower_id, distance in expected.items():
        assert found_points[tower_id] == pytest.approx(distance, rel=1e-3)


def test_radius_results_are_nearest_first(index: TowerIndex) -> None:
    found = index.within_radius_with_distances(*BERLIN, 5_000.0)
    distances = [d for _, d in found]
    assert distances == sorted(distances)
    assert len(found) == 6
    assert ids(index.within_radius(*BERLIN, 5_000.0)) == [t.id for t, _ in found]


def test_radius_distance_is_to_the_footprint_edge(index: TowerIndex) -> None:
    # T-01 is a 20 m square centred on BERLIN: 100 m north of its centre lies 90 m
    # from its northern edge, and its centre lies inside (distance 0).
    north = offset(*BERLIN, 0.0, 100.0)
    found = dict((t.id, d) for t, d in index.within_radius_with_distances(*north, 95.0))
    assert found.keys() == {"T-01"}
    assert found["T-01"] == pytest.approx(90.0, abs=0.2)
    assert index.within_radius_with_distances(*BERLIN, 0.0)[0][1] == 0.0


def test_radius_boundary(index: TowerIndex) -> None:
    east = index.get("T-03")
    assert east is not None
    distance = geodesic_m(*BERLIN, *east.centroid_lonlat)
    assert "T-03" in ids(index.within_radius(*BERLIN, distance + 2.0))
    assert "T-03" not in ids(index.within_radius(*BERLIN, distance - 2.0))


@pytest.mark.parametrize("radius_m", [-1.0, float("nan"), float("inf")])
def test_bad_radius_is_rejected(index: TowerIndex, radius_m: float) -> None:
    with pytest.raises(InvalidGeometry) as info:
        index.within_radius(*BERLIN, radius_m)
    assert info.value.field == "radius_m"


def test_bad_query_point_is_rejected(index: TowerIndex) -> None:
    with pytest.raises(InvalidGeometry):
        index.within_radius(13.4, 95.0, 10.0)
    with pytest.raises(InvalidGeometry):
        index.nearest(200.0, 52.0)


def test_nearest(index: TowerIndex) -> None:
    tower_03 = index.get("T-03")
    assert tower_03 is not None
    lon, lat = offset(*tower_03.centroid_lonlat, 0.0, 50.0)
    result = index.nearest(lon, lat)
    assert result is not None
    tower, distance_m = result
    assert tower.id == "T-03"
    assert distance_m == pytest.approx(geodesic_m(lon, lat, *tower_03.centroid_lonlat), rel=1e-3)


def test_nearest_tie_goes_to_lowest_id() -> None:
    index = TowerIndex([make_tower("b", *BERLIN), make_tower("a", *BERLIN)])
    result = index.nearest(*offset(*BERLIN, 30.0, 0.0))
    assert result is not None
    assert result[0].id == "a"


def test_nearest_from_the_other_side_of_the_globe(index: TowerIndex) -> None:
    # Far beyond the district, UTM 33N distorts (or cannot project) the point: the
    # index falls back to geodesic distances.
    for lon, lat in [(-166.0, -52.0), (105.0, 0.0)]:
        result = index.nearest(lon, lat)
        assert result is not None
        tower, distance_m = result
        by_distance = sorted(index, key=lambda t: geodesic_m(lon, lat, *t.centroid_lonlat))
        assert tower.id == by_distance[0].id
        expected = geodesic_m(lon, lat, *tower.centroid_lonlat)
        assert distance_m == pytest.approx(expected, rel=1e-9)


def test_radius_far_away_is_geodesic(index: TowerIndex) -> None:
    lon, lat = 105.0, 0.0
    distances = sorted(geodesic_m(lon, lat, *t.centroid_lonlat) for t in index)
    assert index.within_radius(lon, lat, distances[0] - 1_000.0) == []
    found = index.within_radius_with_distances(lon, lat, distances[2] + 1.0)
    assert [d for _, d in found] == pytest.approx(distances[:3], rel=1e-9)


def test_empty_index() -> None:
    index = TowerIndex([])
    assert len(index) == 0
    assert list(index) == []
    assert index.frame is None
    assert index.query_bbox((-180.0, -90.0, 180.0, 90.0)) == []
    assert index.within_radius(*BERLIN, 10_000.0) == []
    assert index.nearest(*BERLIN) is None
    assert index.get("T-01") is None


def test_duplicate_ids_are_rejected(towers: list[Tower]) -> None:
    duplicate = make_tower("T-02", 13.3, 52.4)
    with pytest.raises(InvalidTower) as info:
        TowerIndex([*towers, duplicate])
    assert info.value.field == f"towers.{len(towers)}.id"


@pytest.fixture(scope="module")
def big_index() -> TowerIndex:
    towers = [
        Tower(f"T{i:05d}", Point(13.0 + (i % 100) * 0.01, 52.0 + (i // 100) * 0.01), 30.0, 10.0, ())
        for i in range(10_000)
    ]
    return TowerIndex(towers)


# Speed is measured in bench/bench_bbox.py, not asserted here (noisy machines).
def test_bbox_query_over_10000_towers(big_index: TowerIndex) -> None:
    bbox = (13.2, 52.2, 13.4, 52.4)
    found = big_index.query_bbox(bbox)
    assert len(found) == 21 * 21
    assert ids(found) == sorted(ids(found))


def test_radius_query_over_10000_towers(big_index: TowerIndex) -> None:
    found = big_index.within_radius(13.5, 52.5, 2_000.0)
    assert 0 < len(found) < 100
