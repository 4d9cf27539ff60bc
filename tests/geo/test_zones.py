"""Remedy zones checked against shapely and against analytic disc areas."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point, Polygon

from geo.crs import LocalFrame
from geo.errors import InvalidCRS, InvalidParameter
from geo.grid import Grid, GridSpec
from geo.layer import Tier, Tower
from geo.tower_index import TowerIndex
from geo.zones import DoseModel, RemedyZone, ZoneOptions, remedy_zones, zone_priority

FRAME = LocalFrame.from_crs("EPSG:32631")
X0, Y0 = FRAME.to_local(5.12, 52.09)
"""Local metres of the synthetic field's centre, in Utrecht (UTM 31N)."""

SIGMA_M = 60.0
PEAK = 0.9
RES_M = 2.0


def make_spec(half_m: float = 200.0, res_m: float = RES_M) -> GridSpec:
    return GridSpec.covering(FRAME.crs, (X0 - half_m, Y0 - half_m, X0 + half_m, Y0 + half_m), res_m)


def bumps(spec: GridSpec, *centres: tuple[float, float, float, float]) -> NDArray[np.float64]:
    """Sum of Gaussian bumps ``(dx_m, dy_m, peak, sigma_m)`` around (X0, Y0)."""
    xs, ys = spec.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    z = np.zeros(spec.shape)
    for dx, dy, peak, sigma in centres:
        z += peak * np.exp(-((gx - X0 - dx) ** 2 + (gy - Y0 - dy) ** 2) / (2 * sigma**2))
    return z


def grid_of(values: NDArray[np.float64], spec: GridSpec, se: float = 0.1) -> Grid:
    return Grid(spec, values, np.full(spec.shape, se**2))


def bump_grid(**kwargs: float) -> Grid:
    spec = make_spec()
    return grid_of(bumps(spec, (0.0, 0.0, PEAK, SIGMA_M)), spec, **kwargs)


def threshold_radius_m(t: float, peak: float = PEAK, sigma_m: float = SIGMA_M) -> float:
    return sigma_m * math.sqrt(2.0 * math.log(peak / t))


def tower(
    tower_id: str, dx: float, dy: float, half_m: float | None = None, tiers: int = 3
) -> Tower:
    """A tower at (X0 + dx, Y0 + dy): a point, or a square exact in the local frame."""
    x, y = X0 + dx, Y0 + dy
    local = (
        Point(x, y)
        if half_m is None
        else shapely.box(x - half_m, y - half_m, x + half_m, y + half_m)
    )
    footprint = FRAME.geometry_to_wgs84(local)
    return Tower(tower_id, footprint, 2.0, 9.0, tuple(Tier(k, 3.0 * k) for k in range(tiers)))


def index(*towers: Tower) -> TowerIndex:
    return TowerIndex(list(towers), FRAME)


NO_TOWERS = index()


def by_band(zones: list[RemedyZone], band: int) -> list[RemedyZone]:
    return [z for z in zones if z.band == band]


# --- the synthetic bump --------------------------------------------------------------


@pytest.mark.parametrize("margin_m", [0.0, 5.0, 12.0])
def test_bump_gives_one_zone_per_band_with_disc_areas(margin_m: float) -> None:
    zones = remedy_zones(bump_grid(), FRAME, NO_TOWERS, options=ZoneOptions(margin_m=margin_m))

    assert [z.id for z in zones] == ["zone-b2-001", "zone-b1-001", "zone-b0-001"]
    for band, t in enumerate((0.2, 0.4, 0.6)):
        # The union of the bands >= b is the disc where the field reaches t, plus the margin.
        reached = sum(z.area_m2 for z in zones if z.band >= band)
        disc_m2 = math.pi * (threshold_radius_m(t) + margin_m) ** 2
        assert reached == pytest.approx(disc_m2, rel=0.02)


def test_bump_bands_are_nested_rings() -> None:
    zones = {z.band: z for z in remedy_zones(bump_grid(), FRAME, NO_TOWERS)}
    assert len(zones[2].geometry_local.interiors) == 0
    for outer, inner in ((0, 1), (1, 2)):
        ring = zones[outer].geometry_local
        assert len(ring.interiors) == 1
        hole = Polygon(ring.interiors[0])
        inner_disc = Polygon(zones[inner].geometry_local.exterior)
        # The hole of a ring is exactly the outer boundary of the next band.
        assert shapely.symmetric_difference(hole, inner_disc).area < 1e-3 * inner_disc.area
        assert Polygon(ring.exterior).contains(zones[inner].geometry_local.buffer(-1e-6))


def test_bump_thresholds_and_statistics() -> None:
    zones = {z.band: z for z in remedy_zones(bump_grid(se=0.1), FRAME, NO_TOWERS)}
    assert (zones[0].threshold_min, zones[0].threshold_max) == (0.2, 0.4)
    assert (zones[2].threshold_min, zones[2].threshold_max) == (0.6, 1.0)
    assert zones[2].max_intensity == pytest.approx(PEAK, abs=1e-3)
    assert zones[2].mean_std_error == pytest.approx(0.1)
    # The margin pulls the mean a little below the band's lower edge at most.
    assert 0.5 < zones[2].mean_intensity < PEAK
    assert zones[0].mean_intensity < zones[1].mean_intensity < zones[2].mean_intensity


# --- invariants on a richer field -----------------------------------------------------


NAN_ROWS, NAN_COLS = slice(120, 130), slice(75, 95)
"""20 m x 40 m of the rich field, 40-60 m north and 110-150 m west of its centre."""


@pytest.fixture(scope="module")
def rich() -> tuple[Grid, TowerIndex, list[RemedyZone]]:
    spec = make_spec(half_m=300.0)
    values = bumps(
        spec, (-100.0, 0.0, 0.9, 40.0), (120.0, 60.0, 0.7, 30.0), (60.0, -150.0, 0.45, 25.0)
    )
    values[NAN_ROWS, NAN_COLS] = np.nan  # a gap in coverage on the first bump's flank
    variance = np.where(np.isfinite(values), 0.01 + 0.02 * values, np.nan)
    grid = Grid(spec, values, variance)
    towers = index(
        tower("T-centre", -100.0, 0.0, half_m=8.0),
        tower("T-ring", -100.0, 55.0),
        tower("T-east", 120.0, 60.0, half_m=5.0),
        tower("T-edge", 120.0, 60.0 + threshold_radius_m(0.4, 0.7, 30.0), half_m=6.0),
        tower("T-far", 280.0, -280.0),
    )
    return grid, towers, remedy_zones(grid, FRAME, towers)


def test_zones_are_valid_polygons_with_their_area(
    rich: tuple[Grid, TowerIndex, list[RemedyZone]],
) -> None:
    _, _, zones = rich
    assert len(zones) >= 5
    for z in zones:
        assert isinstance(z.geometry_local, Polygon) and isinstance(z.geometry_wgs84, Polygon)
        assert z.geometry_local.is_valid and z.geometry_wgs84.is_valid
        assert z.area_m2 == z.geometry_local.area
        assert z.area_m2 >= ZoneOptions().min_area_m2
        assert FRAME.geometry_to_local(z.geometry_wgs84).area == pytest.approx(z.area_m2, rel=1e-6)
        assert z.geometry_local.exterior.is_ccw


def test_zones_do_not_overlap(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    _, _, zones = rich
    for a, b in itertools.combinations(zones, 2):
        assert shapely.intersection(a.geometry_local, b.geometry_local).area < 1e-6


def test_tower_membership_matches_shapely(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    _, towers, zones = rich
    for z in zones:
        expected = sorted(
            t.id
            for t in towers
            if shapely.intersects(FRAME.geometry_to_local(t.footprint_wgs84), z.geometry_local)
        )
        assert list(z.towers) == expected
    touched = {t for z in zones for t in z.towers}
    assert {"T-centre", "T-ring", "T-east", "T-edge"} <= touched
    assert "T-far" not in touched
    edge_bands = sorted(z.band for z in zones if "T-edge" in z.towers)
    assert edge_bands == [0, 1]  # straddles a band boundary


def test_statistics_match_the_cells_inside(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    grid, _, zones = rich
    gx, gy = grid.spec.cell_centre_points()
    values, se = grid.values.ravel(), grid.std_error.ravel()
    for z in zones:
        inside = shapely.intersects_xy(z.geometry_local, gx, gy) & np.isfinite(values)
        assert z.mean_intensity == pytest.approx(values[inside].mean())
        assert z.max_intensity == pytest.approx(values[inside].max())
        assert z.mean_std_error == pytest.approx(se[inside].mean())


def test_no_zone_reaches_into_the_nan_patch(
    rich: tuple[Grid, TowerIndex, list[RemedyZone]],
) -> None:
    grid, _, zones = rich
    xs, ys = grid.spec.cell_centres()
    xs, ys = xs[NAN_COLS], ys[NAN_ROWS]
    gap = shapely.box(xs.min(), ys.min(), xs.max(), ys.max())
    # Contours stop one cell into the unknown at most; the margin adds 5 m.
    core = gap.buffer(-(RES_M + ZoneOptions().margin_m) - 1e-6)
    assert not core.is_empty
    assert all(not z.geometry_local.intersects(core) for z in zones)
    assert any(z.geometry_local.intersects(gap) for z in zones)


def test_ranks_follow_priority(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    _, _, zones = rich
    assert [z.rank for z in zones] == list(range(1, len(zones) + 1))
    priorities = [z.priority for z in zones]
    assert priorities == sorted(priorities, reverse=True)
    for z in zones:
        assert z.priority == pytest.approx(
            z.mean_intensity * (1 + len(z.towers)) * (1 + z.mean_std_error)
        )
        assert z.priority == zone_priority(z.mean_intensity, len(z.towers), z.mean_std_error)


def test_ids_count_each_band_in_rank_order(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    _, _, zones = rich
    assert len({z.id for z in zones}) == len(zones)
    for band in {z.band for z in zones}:
        ids = [z.id for z in by_band(zones, band)]
        assert ids == [f"zone-b{band}-{n:03d}" for n in range(1, len(ids) + 1)]
    assert all(re.fullmatch(r"zone-b\d-\d{3}", z.id) for z in zones)


def test_zones_are_deterministic(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    grid, towers, zones = rich
    again = remedy_zones(grid, FRAME, towers)
    assert [z.id for z in again] == [z.id for z in zones]
    for a, b in zip(again, zones, strict=True):
        assert a.geometry_local.equals_exact(b.geometry_local, 0.0)


def test_properties_are_json_safe(rich: tuple[Grid, TowerIndex, list[RemedyZone]]) -> None:
    _, _, zones = rich
    for z in zones:
        props = json.loads(json.dumps(z.properties(), allow_nan=False))
        assert props["id"] == z.id and props["towers"] == list(z.towers)
        feature = json.loads(json.dumps(z.to_feature(), allow_nan=False))
        assert shapely.geometry.shape(feature["geometry"]).equals(z.geometry_wgs84)


def test_a_higher_priority_zone_ranks_first() -> None:
    spec = make_spec()
    values = bumps(spec, (-90.0, 0.0, 0.9, 30.0), (90.0, 0.0, 0.9, 30.0))
    towers = index(*(tower(f"T-{k}", 90.0 + 3 * k, 0.0) for k in range(4)))
    zones = remedy_zones(grid_of(values, spec), FRAME, towers)
    top = by_band(zones, 2)
    assert len(top) == 2
    assert top[0].id == "zone-b2-001" and len(top[0].towers) == 4
    assert top[1].id == "zone-b2-002" and top[1].towers == ()
    assert top[0].rank < top[1].rank


# --- empty fields, NaN, slivers ------------------------------------------------------


def test_field_below_the_lowest_threshold_gives_no_zones() -> None:
    spec = make_spec()
    assert remedy_zones(grid_of(bumps(spec, (0.0, 0.0, 0.19, 50.0)), spec), FRAME, NO_TOWERS) == []
    assert remedy_zones(grid_of(np.zeros(spec.shape), spec), FRAME, NO_TOWERS) == []


def test_all_nan_and_single_row_grids_give_no_zones() -> None:
    spec = make_spec()
    assert remedy_zones(grid_of(np.full(spec.shape, np.nan), spec), FRAME, NO_TOWERS) == []
    row = GridSpec(FRAME.crs, X0, Y0, 2.0, 50, 1)
    assert remedy_zones(grid_of(np.full((1, 50), 0.9), row), FRAME, NO_TOWERS) == []


def test_nan_cells_are_ignored() -> None:
    spec = make_spec(half_m=100.0)
    values = np.full(spec.shape, 0.8)
    values[:, : spec.width // 2] = np.nan  # western half unknown
    zones = remedy_zones(grid_of(values, spec), FRAME, NO_TOWERS)
    assert [z.band for z in zones] == [2]
    (zone,) = zones
    assert zone.mean_intensity == pytest.approx(0.8) and zone.max_intensity == 0.8
    west_edge_m = spec.west_m + (spec.width // 2 + 0.5) * spec.resolution_m
    assert zone.geometry_local.bounds[0] == pytest.approx(west_edge_m - 5.0, abs=1e-6)


def test_a_nan_cell_inside_a_patch_is_bridged_by_the_margin() -> None:
    grid = bump_grid()
    centre = grid.spec.index_of(np.array([X0]), np.array([Y0]))
    values = grid.values.copy()
    values[centre[0][0], centre[1][0]] = np.nan
    zones = remedy_zones(grid_of(values, grid.spec), FRAME, NO_TOWERS)
    top = by_band(zones, 2)[0]
    assert len(top.geometry_local.interiors) == 0
    assert math.isfinite(top.mean_intensity)


def test_slivers_below_min_area_are_dropped() -> None:
    spec = make_spec(half_m=50.0)
    values = np.zeros(spec.shape)
    values[20, 20] = 0.9  # one hot cell: a diamond of a few square metres
    tight = ZoneOptions(margin_m=0.0, simplify_m=0.0)
    assert remedy_zones(grid_of(values, spec), FRAME, NO_TOWERS, options=tight) == []
    keep_all = ZoneOptions(margin_m=0.0, simplify_m=0.0, min_area_m2=0.0)
    kept = remedy_zones(grid_of(values, spec), FRAME, NO_TOWERS, options=keep_all)
    assert kept and all(z.area_m2 < 25.0 for z in kept)


# --- tiers and doses -----------------------------------------------------------------


def test_tiers_default_to_all_tiers_of_affected_towers() -> None:
    towers = index(tower("T-in", 0.0, 0.0, half_m=5.0), tower("T-out", 180.0, 180.0))
    (top, *_) = remedy_zones(bump_grid(), FRAME, towers)
    assert top.towers == ("T-in",)
    assert top.tiers == (("T-in", 0), ("T-in", 1), ("T-in", 2))


def test_tiers_below_the_band_are_not_sprayed() -> None:
    towers = index(tower("T-in", 0.0, 0.0, half_m=5.0), tower("T-pt", 10.0, 10.0))
    tier_values = {
        ("T-in", 0): (0.75, 0.01),
        ("T-in", 1): (0.3, 0.01),
        ("T-in", 2): (float("nan"), 0.01),  # unknown: sprayed
        ("T-pt", 0): (0.61, 0.0),
        ("T-pt", 1): (0.59, 0.0),
    }  # ("T-pt", 2) missing: sprayed
    (top, *_) = remedy_zones(bump_grid(), FRAME, towers, tier_values)
    assert top.band == 2
    assert top.tiers == (("T-in", 0), ("T-in", 2), ("T-pt", 0), ("T-pt", 2))


def test_a_tier_is_sprayed_by_one_zone_only() -> None:
    r_m = threshold_radius_m(0.4)
    straddler = tower("T-edge", r_m, 0.0, half_m=6.0)
    zones = remedy_zones(bump_grid(), FRAME, index(straddler))
    touching = [z for z in zones if "T-edge" in z.towers]
    assert sorted(z.band for z in touching) == [0, 1]
    sprayed = [tier for z in zones for tier in z.tiers]
    assert sorted(sprayed) == [("T-edge", 0), ("T-edge", 1), ("T-edge", 2)]
    assert next(z for z in touching if z.band == 1).tiers == tuple(sorted(sprayed))
    # With values, a tier goes to the most severe zone it reaches.
    values = {("T-edge", 0): (0.45, 0.0), ("T-edge", 1): (0.3, 0.0), ("T-edge", 2): (0.1, 0.0)}
    zones = remedy_zones(bump_grid(), FRAME, index(straddler), values)
    assigned = {z.band: z.tiers for z in zones if z.tiers}
    assert assigned == {1: (("T-edge", 0),), 0: (("T-edge", 1),)}


def test_doses_follow_the_model() -> None:
    model = DoseModel(per_tier_l_per_m2=0.2, point_tier_area_m2=3.0)
    towers = index(tower("T-sq", 0.0, 0.0, half_m=5.0), tower("T-pt", 10.0, 0.0, tiers=2))
    tier_values = {("T-sq", 0): (0.8, 0.0), ("T-sq", 1): (0.7, 0.0), ("T-sq", 2): (0.65, 0.0)}
    zones = remedy_zones(bump_grid(), FRAME, towers, tier_values, ZoneOptions(dose=model))
    for z in zones:
        rate = model.ground_rate_l_per_m2(z.mean_intensity)
        assert z.dose_l_per_m2 == rate
        assert z.ground_dose_l == pytest.approx(rate * z.area_m2)
        assert z.total_dose_l == pytest.approx(z.ground_dose_l + z.tier_dose_l)
    top = zones[0]
    square_m2 = 100.0
    expected_tiers_l = (
        sum(square_m2 * min(max(0.2 * v / 0.5, 0.1), 2.0) for v in (0.8, 0.7, 0.65))
        + 2 * 3.0 * 0.2 * top.mean_intensity / 0.5
    )
    assert top.tier_dose_l == pytest.approx(expected_tiers_l, rel=1e-6)
    assert all(z.tier_dose_l == 0.0 for z in zones[1:])


def test_the_worked_example_of_the_docs() -> None:
    model = DoseModel()
    rate = model.ground_rate_l_per_m2(0.7)
    tiers_l = 3 * model.tier_dose_l(model.tier_area_m2(100.0), 0.7)
    assert rate * 10_000.0 + tiers_l == pytest.approx(7_126.0)
    assert model.tier_area_m2(0.0) == 4.0


@pytest.mark.parametrize(
    ("intensity", "rate"), [(0.0, 0.1), (0.05, 0.1), (0.5, 0.5), (0.9, 0.9), (1.0, 1.0)]
)
def test_ground_rate_is_proportional_and_clipped(intensity: float, rate: float) -> None:
    assert DoseModel().ground_rate_l_per_m2(intensity) == pytest.approx(rate)


def test_dose_exponent_and_ceiling() -> None:
    model = DoseModel(exponent=2.0, max_l_per_m2=1.5)
    assert model.ground_rate_l_per_m2(0.25) == pytest.approx(0.125)
    assert model.ground_rate_l_per_m2(1.0) == 1.5
    assert DoseModel(exponent=0.0).ground_rate_l_per_m2(0.9) == 0.5


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"thresholds": ()}, "thresholds"),
        ({"thresholds": (0.4, 0.2)}, "thresholds"),
        ({"thresholds": (0.2, 0.2)}, "thresholds"),
        ({"thresholds": (0.0, 0.5)}, "thresholds"),
        ({"thresholds": (0.5, 1.0)}, "thresholds"),
        ({"thresholds": (float("nan"),)}, "thresholds"),
        ({"margin_m": -1.0}, "margin_m"),
        ({"simplify_m": float("inf")}, "simplify_m"),
        ({"min_area_m2": float("nan")}, "min_area_m2"),
    ],
)
def test_bad_zone_options_are_rejected(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        ZoneOptions(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_l_per_m2": 0.0}, "base_l_per_m2"),
        ({"reference_intensity": 0.0}, "reference_intensity"),
        ({"exponent": -1.0}, "exponent"),
        ({"min_l_per_m2": 1.0, "max_l_per_m2": 0.5}, "max_l_per_m2"),
        ({"point_tier_area_m2": 0.0}, "point_tier_area_m2"),
        ({"base_l_per_m2": float("inf")}, "base_l_per_m2"),
    ],
)
def test_bad_dose_models_are_rejected(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        DoseModel(**kwargs)
    assert info.value.field == field


def test_thresholds_are_stored_as_floats() -> None:
    assert ZoneOptions(thresholds=(0.25, 0.5)).thresholds == (0.25, 0.5)
    assert ZoneOptions(thresholds=[0.3]).thresholds == (0.3,)  # type: ignore[arg-type]
    assert ZoneOptions(thresholds=(0.3, 0.7)).band_range(1) == (0.7, 1.0)


def test_grid_in_another_crs_is_rejected() -> None:
    other = LocalFrame.from_crs("EPSG:32632")
    with pytest.raises(InvalidCRS):
        remedy_zones(bump_grid(), other, NO_TOWERS)
