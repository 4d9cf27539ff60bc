from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from geo.crs import LocalFrame
from geo.errors import InvalidCRS, InvalidParameter
from geo.forecast.fronts import Front, forecast_fronts, probability_grid
from geo.forecast.model import Hosts
from geo.grid import GridSpec
from geo.layer import Tower
from tests.geo.conftest import make_tower, offset

UTRECHT = (5.12, 52.09)
FRAME = LocalFrame.for_lonlat([UTRECHT[0]], [UTRECHT[1]])
EAST_M = [0.0, 100.0, 400.0]


def towers() -> list[Tower]:
    return [
        make_tower(f"T-{k}", *offset(*UTRECHT, east_m=e), tier_count=3)
        for k, e in enumerate(EAST_M)
    ]


HOSTS = Hosts.from_towers(towers(), FRAME)
SPEC = GridSpec.covering(
    FRAME.crs,
    (
        float(HOSTS.x_m.min()),
        float(HOSTS.y_m.min()),
        float(HOSTS.x_m.max()),
        float(HOSTS.y_m.max()),
    ),
    resolution_m=5.0,
    pad_m=200.0,
)


def bump(p: float, tower: int = 0, days: int = 2) -> np.ndarray:
    """Probability ``p`` on the top tier of ``tower`` on the last day, 0 elsewhere."""
    prob = np.zeros((days + 1, HOSTS.n))
    prob[-1, np.flatnonzero(HOSTS.tower_index == tower)[-1]] = p
    return prob


def centre(tower: int) -> Point:
    i = int(np.flatnonzero(HOSTS.tower_index == tower)[0])
    return Point(HOSTS.x_m[i], HOSTS.y_m[i])


def test_probability_grid_takes_tower_max_and_is_zero_far_away() -> None:
    p = np.zeros(HOSTS.n)
    p[np.flatnonzero(HOSTS.tower_index == 0)] = [0.1, 0.7, 0.3]
    grid = probability_grid(HOSTS, p, SPEC, max_distance_m=150.0)
    assert grid.shape == SPEC.shape
    c = centre(0)
    row, col, inside = SPEC.index_of(np.array([c.x]), np.array([c.y]))
    assert inside[0]
    assert grid[row[0], col[0]] == pytest.approx(0.7, abs=0.05)
    xs, ys = SPEC.cell_centre_points()
    dist = np.min(
        np.hypot(xs[:, None] - HOSTS.x_m[None, :], ys[:, None] - HOSTS.y_m[None, :]), axis=1
    )
    assert np.all(grid.ravel()[dist > 150.0] == 0.0)
    assert grid.min() >= 0.0 and grid.max() <= 0.7 + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"k": 0}, "k"), ({"power": 0.0}, "power"), ({"max_distance_m": -1.0}, "max_distance_m")],
)
def test_probability_grid_rejects_bad_parameters(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        probability_grid(HOSTS, np.zeros(HOSTS.n), SPEC, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_probability_grid_rejects_bad_probability() -> None:
    with pytest.raises(InvalidParameter):
        probability_grid(HOSTS, np.full(HOSTS.n, 1.5), SPEC)
    with pytest.raises(InvalidParameter):
        probability_grid(HOSTS, np.zeros(HOSTS.n + 1), SPEC)


def test_bump_gives_front_at_half_but_not_at_ninety() -> None:
    fronts = forecast_fronts(HOSTS, bump(0.7), SPEC, FRAME, levels=(0.5, 0.9))
    assert [(f.day, f.level) for f in fronts] == [(2, 0.5)]
    front = fronts[0]
    assert front.geometry_local.contains(centre(0))
    assert not front.geometry_local.intersects(centre(2))
    assert "T-0" in front.towers and "T-2" not in front.towers
    assert front.geometry_local.is_valid and front.geometry_wgs84.is_valid
    assert front.area_m2 == pytest.approx(front.geometry_local.area)
    lon, lat = FRAME.to_wgs84(centre(0).x, centre(0).y)
    assert front.geometry_wgs84.contains(Point(lon, lat))


def test_feature() -> None:
    front = forecast_fronts(HOSTS, bump(0.7), SPEC, FRAME, levels=(0.5,))[0]
    feature = front.to_feature()
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert feature["properties"] == {
        "day": 2,
        "level": 0.5,
        "area_m2": front.area_m2,
        "towers": list(front.towers),
    }
    assert shapely.geometry.shape(feature["geometry"]).equals(front.geometry_wgs84)


def test_fronts_are_valid_and_nested() -> None:
    prob = np.zeros((2, HOSTS.n))
    prob[1, HOSTS.tower_index == 0] = 0.95
    prob[1, HOSTS.tower_index == 1] = 0.6
    prob[1, HOSTS.tower_index == 2] = 0.92
    fronts = forecast_fronts(HOSTS, prob, SPEC, FRAME, levels=(0.5, 0.9), margin_m=2.0)
    by_level = {f.level: f for f in fronts if f.day == 1}
    assert set(by_level) == {0.5, 0.9}
    for f in fronts:
        assert isinstance(f, Front)
        assert f.geometry_local.is_valid and f.geometry_wgs84.is_valid
        assert f.area_m2 == pytest.approx(shapely.area(f.geometry_local))
    low, high = by_level[0.5], by_level[0.9]
    assert high.geometry_local.difference(low.geometry_local).area < 1e-6
    assert high.area_m2 < low.area_m2
    assert set(high.towers) <= set(low.towers)
    assert low.towers == ("T-0", "T-1", "T-2")
    assert high.towers == ("T-0", "T-2")


def test_no_fronts_below_levels() -> None:
    prob = np.full((4, HOSTS.n), 0.45)
    assert forecast_fronts(HOSTS, prob, SPEC, FRAME, levels=(0.5, 0.9)) == []


def test_days_selects_rows() -> None:
    prob = np.zeros((3, HOSTS.n))
    prob[:, HOSTS.tower_index == 1] = 0.8
    fronts = forecast_fronts(HOSTS, prob, SPEC, FRAME, levels=(0.5,), days=[2, 0])
    assert [f.day for f in fronts] == [2, 0]


def test_rejects_bad_arguments() -> None:
    prob = bump(0.7)
    with pytest.raises(InvalidParameter):
        forecast_fronts(HOSTS, prob, SPEC, FRAME, days=[3])
    with pytest.raises(InvalidParameter):
        forecast_fronts(HOSTS, prob, SPEC, FRAME, levels=(0.0,))
    with pytest.raises(InvalidParameter):
        forecast_fronts(HOSTS, prob[:, :-1], SPEC, FRAME)
    other = LocalFrame.for_lonlat([100.0], [10.0])
    with pytest.raises(InvalidCRS):
        forecast_fronts(HOSTS, prob, SPEC, other)
