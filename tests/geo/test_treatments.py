"""Treatments: validation, the efficacy/decay model, per-tower protection and rasters."""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.crs import LocalFrame
from geo.errors import InvalidCRS, InvalidGeometry, InvalidParameter, InvalidTreatment
from geo.grid import GridSpec
from geo.layer import Tier, Tower
from geo.treatments import (
    MAX_DOSE_L_PER_M2,
    EfficacyModel,
    Treatment,
    tier_protection,
    treated_fraction,
    treatment_effect_grid,
    validate_area,
)

FRAME = LocalFrame.from_crs("EPSG:32631")
X0, Y0 = FRAME.to_local(5.12, 52.09)
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
MODEL = EfficacyModel()


def local_box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A box given in metres from (X0, Y0), returned in WGS84."""
    geom = FRAME.geometry_to_wgs84(shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1))
    assert isinstance(geom, Polygon)
    return geom


def treatment(
    geom: BaseGeometry, dose: float = 0.5, at: datetime = T0, tid: str = "TR-1"
) -> Treatment:
    return Treatment(tid, geom, "Bacillus subtilis QST 713", dose, at)


def tower(tower_id: str, footprint: BaseGeometry, tiers: int = 2) -> Tower:
    return Tower(tower_id, footprint, 2.0, 6.0, tuple(Tier(k, 2.0 * k) for k in range(tiers)))


def point(dx: float, dy: float) -> Point:
    geom = FRAME.geometry_to_wgs84(Point(X0 + dx, Y0 + dy))
    assert isinstance(geom, Point)
    return geom


# --- the efficacy model --------------------------------------------------------------


@pytest.mark.parametrize("dose", [0.1, 0.5, 2.0])
def test_protection_halves_every_half_life(dose: float) -> None:
    model = EfficacyModel(half_life_days=7.0)
    fresh = model.protection(dose, 0.0)
    assert fresh == pytest.approx(model.efficacy(dose))
    assert model.protection(dose, 7.0) == pytest.approx(fresh / 2)
    assert model.protection(dose, 14.0) == pytest.approx(fresh / 4)
    assert model.protection(dose, 3.5) == pytest.approx(fresh / math.sqrt(2))


@pytest.mark.parametrize("age_days", [-0.001, -1.0, -365.0])
def test_no_protection_before_application(age_days: float) -> None:
    assert MODEL.protection(1.0, age_days) == 0.0


def test_protection_saturates_with_dose() -> None:
    model = EfficacyModel(efficacy_max=0.8, dose_half_sat_l_per_m2=0.2)
    assert model.protection(0.0, 0.0) == 0.0
    assert model.protection(0.2, 0.0) == pytest.approx(0.4)
    assert model.protection(0.4, 0.0) == pytest.approx(0.6)
    doses = np.linspace(0.0, 5.0, 51)
    values = [model.protection(float(d), 0.0) for d in doses]
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[-1] == pytest.approx(0.8, abs=1e-6)
    assert all(0.0 <= v <= 0.8 for v in values)


def test_treatment_protection_uses_the_age_in_days() -> None:
    t = treatment(local_box(0, 0, 10, 10), dose=0.5)
    half_life = timedelta(days=MODEL.half_life_days)
    assert MODEL.treatment_protection(t, T0 + half_life) == pytest.approx(
        MODEL.protection(0.5, 0.0) / 2
    )
    assert MODEL.treatment_protection(t, T0 - timedelta(seconds=1)) == 0.0
    with pytest.raises(InvalidParameter):
        MODEL.treatment_protection(t, datetime(2025, 6, 2))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"efficacy_max": 0.0}, "efficacy_max"),
        ({"efficacy_max": 1.1}, "efficacy_max"),
        ({"dose_half_sat_l_per_m2": 0.0}, "dose_half_sat_l_per_m2"),
        ({"half_life_days": float("inf")}, "half_life_days"),
    ],
)
def test_bad_efficacy_models_are_rejected(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        EfficacyModel(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(("dose", "age"), [(-0.1, 1.0), (float("nan"), 1.0), (0.5, float("nan"))])
def test_protection_rejects_bad_arguments(dose: float, age: float) -> None:
    with pytest.raises(InvalidParameter):
        MODEL.protection(dose, age)


# --- treatment records ---------------------------------------------------------------


def test_a_treatment_keeps_its_fields_and_converts_to_utc() -> None:
    cest = timezone(timedelta(hours=2))
    t = Treatment(
        "TR-7",
        local_box(0, 0, 20, 20),
        "Trichoderma harzianum",
        0.4,
        datetime(2025, 6, 1, 10, 0, tzinfo=cest),
        zone_id="zone-b2-001",
        notes="north yard",
    )
    assert t.applied_at == T0 and t.applied_at.tzinfo is UTC
    props = json.loads(json.dumps(t.to_feature(), allow_nan=False))["properties"]
    assert props == {
        "strain": "Trichoderma harzianum",
        "dose_l_per_m2": 0.4,
        "applied_at": "2025-06-01T08:00:00.000Z",
        "zone_id": "zone-b2-001",
        "notes": "north yard",
    }


def test_a_multipolygon_is_a_valid_area() -> None:
    area = MultiPolygon([local_box(0, 0, 10, 10), local_box(20, 0, 30, 10)])
    assert treatment(area).geometry_wgs84 is area


BOWTIE = Polygon([(5.12, 52.09), (5.121, 52.091), (5.121, 52.09), (5.12, 52.091)])


@pytest.mark.parametrize(
    ("geom", "reason"),
    [
        (BOWTIE, "invalid geometry: Self-intersection"),
        (
            MultiPolygon(
                [shapely.box(5.12, 52.09, 5.122, 52.092), shapely.box(5.121, 52.09, 5.123, 52.092)]
            ),
            "invalid geometry: Self-intersection",
        ),
        (Point(5.12, 52.09), "must be a Polygon or a MultiPolygon, not Point"),
        (LineString([(5.12, 52.09), (5.13, 52.1)]), "must be a Polygon or a MultiPolygon"),
        (Polygon(), "must not be empty"),
        (shapely.box(179.0, 0.0, 181.0, 1.0), "longitude must be within [-180, 180]"),
        (shapely.box(0.0, 89.0, 1.0, 91.0), "latitude must be within [-90, 90]"),
        (shapely.box(0.0, 0.0, float("inf"), 1.0), "coordinates must be finite numbers"),
    ],
)
def test_invalid_areas_are_rejected_with_the_reason(geom: BaseGeometry, reason: str) -> None:
    with pytest.raises(InvalidGeometry) as info:
        validate_area(geom)
    assert info.value.reason.startswith(reason)
    assert info.value.field == "geometry"
    with pytest.raises(InvalidGeometry):
        treatment(geom)


def test_the_shapely_reason_names_the_location() -> None:
    with pytest.raises(InvalidGeometry) as info:
        treatment(BOWTIE)
    assert info.value.reason == f"invalid geometry: {shapely.is_valid_reason(BOWTIE)}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "bad id!"}, "id"),
        ({"id": ""}, "id"),
        ({"strain": "  "}, "strain"),
        ({"dose_l_per_m2": 0.0}, "dose_l_per_m2"),
        ({"dose_l_per_m2": -1.0}, "dose_l_per_m2"),
        ({"dose_l_per_m2": MAX_DOSE_L_PER_M2 * 1.01}, "dose_l_per_m2"),
        ({"dose_l_per_m2": float("nan")}, "dose_l_per_m2"),
        ({"applied_at": datetime(2025, 6, 1)}, "applied_at"),
    ],
)
def test_bad_treatments_are_rejected(change: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {
        "id": "TR-1",
        "geometry_wgs84": local_box(0, 0, 10, 10),
        "strain": "B. subtilis",
        "dose_l_per_m2": 0.5,
        "applied_at": T0,
    }
    fields.update(change)
    with pytest.raises(InvalidTreatment) as info:
        Treatment(**fields)  # type: ignore[arg-type]
    assert info.value.field == field


def test_the_maximum_dose_is_accepted() -> None:
    assert treatment(local_box(0, 0, 10, 10), dose=MAX_DOSE_L_PER_M2).dose_l_per_m2 == 10.0


# --- per-tower protection ------------------------------------------------------------


def test_a_half_covered_square_gets_half_the_protection() -> None:
    towers = [tower("T-sq", local_box(0, 0, 20, 20))]
    t = treatment(local_box(10, -5, 40, 25), dose=0.5)
    at = T0 + timedelta(days=3)
    p = MODEL.treatment_protection(t, at)
    assert treated_fraction(towers, [t], FRAME, at) == {"T-sq": pytest.approx(0.5 * p, rel=1e-6)}


def test_points_are_in_or_out() -> None:
    towers = [tower("T-in", point(5, 5)), tower("T-out", point(50, 5))]
    t = treatment(local_box(0, 0, 10, 10))
    fraction = treated_fraction(towers, [t], FRAME, T0)
    assert fraction == {"T-in": pytest.approx(MODEL.efficacy(0.5)), "T-out": 0.0}


def test_overlapping_treatments_combine_as_independent() -> None:
    towers = [tower("T-sq", local_box(0, 0, 20, 20))]
    a = treatment(local_box(-10, -10, 30, 30), dose=0.3, tid="A")  # covers all
    b = treatment(local_box(-10, -10, 5, 30), dose=1.0, at=T0 + timedelta(days=1), tid="B")
    at = T0 + timedelta(days=4)
    pa, pb = MODEL.treatment_protection(a, at), MODEL.treatment_protection(b, at)
    expected = 1.0 - (1.0 - pa) * (1.0 - 0.25 * pb)
    assert treated_fraction(towers, [a, b], FRAME, at)["T-sq"] == pytest.approx(expected)
    # Order does not matter.
    assert treated_fraction(towers, [b, a], FRAME, at)["T-sq"] == pytest.approx(expected)


def test_future_treatments_do_not_protect_yet() -> None:
    towers = [tower("T-sq", local_box(0, 0, 20, 20))]
    t = treatment(local_box(-10, -10, 30, 30), at=T0 + timedelta(days=2))
    assert treated_fraction(towers, [t], FRAME, T0) == {"T-sq": 0.0}
    assert treated_fraction(towers, [t], FRAME, T0 + timedelta(days=2))["T-sq"] > 0.0


def test_untreated_towers_and_no_treatments_give_zero() -> None:
    towers = [tower("T-a", local_box(0, 0, 5, 5)), tower("T-b", point(100, 100))]
    assert treated_fraction(towers, [], FRAME, T0) == {"T-a": 0.0, "T-b": 0.0}
    assert treated_fraction([], [treatment(local_box(0, 0, 5, 5))], FRAME, T0) == {}


def test_naive_evaluation_time_is_rejected() -> None:
    with pytest.raises(InvalidParameter) as info:
        treated_fraction([], [], FRAME, datetime(2025, 6, 1))
    assert info.value.field == "at"


def test_every_tier_shares_its_tower_protection() -> None:
    towers = [tower("T-sq", local_box(0, 0, 20, 20), tiers=3), tower("T-pt", point(80, 0))]
    t = treatment(local_box(0, 0, 10, 20))
    by_tier = tier_protection(towers, [t], FRAME, T0)
    half = 0.5 * MODEL.efficacy(0.5)
    assert by_tier == {
        ("T-sq", 0): pytest.approx(half),
        ("T-sq", 1): pytest.approx(half),
        ("T-sq", 2): pytest.approx(half),
        ("T-pt", 0): 0.0,
        ("T-pt", 1): 0.0,
    }


# --- the raster ----------------------------------------------------------------------


def test_effect_grid_inside_and_outside() -> None:
    spec = GridSpec(FRAME.crs, X0, Y0 + 100.0, 10.0, 10, 10)  # 100 m square, NW corner
    # Covers cell centres x in {5, 15, 25}, y in {95, 85} m from the corner.
    a = treatment(local_box(1, 81, 29, 99), dose=0.5, tid="A")
    b = treatment(local_box(21, 81, 49, 99), dose=1.0, tid="B")  # overlaps A on column 2
    effect = treatment_effect_grid(spec, FRAME, [a, b], T0)
    pa, pb = MODEL.efficacy(0.5), MODEL.efficacy(1.0)
    assert effect.shape == (10, 10) and effect.dtype == np.float64
    np.testing.assert_allclose(effect[0:2, 0:2], pa)
    np.testing.assert_allclose(effect[0:2, 2], 1.0 - (1.0 - pa) * (1.0 - pb))
    np.testing.assert_allclose(effect[0:2, 3:5], pb)
    assert np.all(effect[2:, :] == 0.0) and np.all(effect[:, 5:] == 0.0)


def test_effect_grid_matches_contains_on_cell_centres() -> None:
    spec = GridSpec(FRAME.crs, X0 - 50.0, Y0 + 50.0, 2.0, 50, 50)
    disc = FRAME.geometry_to_wgs84(Point(X0, Y0).buffer(20.0))
    effect = treatment_effect_grid(spec, FRAME, [treatment(disc)], T0 + timedelta(days=10))
    gx, gy = spec.cell_centre_points()
    inside = shapely.contains_xy(FRAME.geometry_to_local(disc), gx, gy).reshape(spec.shape)
    p = MODEL.protection(0.5, 10.0)
    np.testing.assert_allclose(effect, np.where(inside, p, 0.0))
    assert inside.sum() == pytest.approx(math.pi * 20.0**2 / 4.0, rel=0.05)


def test_effect_grid_before_application_and_far_away_is_zero() -> None:
    spec = GridSpec(FRAME.crs, X0, Y0, 10.0, 5, 5)
    near = treatment(local_box(0, -50, 50, 0))
    far = treatment(local_box(1000, 1000, 1100, 1100), tid="far")
    assert not treatment_effect_grid(spec, FRAME, [near], T0 - timedelta(hours=1)).any()
    assert not treatment_effect_grid(spec, FRAME, [far], T0).any()
    assert treatment_effect_grid(spec, FRAME, [near], T0).all()


def test_effect_grid_in_another_crs_is_rejected() -> None:
    spec = GridSpec(LocalFrame.from_crs("EPSG:32632").crs, 0.0, 0.0, 10.0, 5, 5)
    with pytest.raises(InvalidCRS):
        treatment_effect_grid(spec, FRAME, [], T0)
