from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from shapely.geometry import Polygon

from geo.crs import LocalFrame
from geo.errors import InvalidParameter
from geo.forecast.model import Hosts
from geo.forecast.scenario import PlannedTreatment, protection_schedule
from geo.treatments import EfficacyModel, Treatment
from tests.geo.conftest import make_tower, offset

UTRECHT = (5.12, 52.09)
FRAME = LocalFrame.for_lonlat([UTRECHT[0]], [UTRECHT[1]])
TOWERS = [
    make_tower(f"T-{k}", *offset(*UTRECHT, east_m=e), tier_count=2)
    for k, e in enumerate([0.0, 300.0])
]
HOSTS = Hosts.from_towers(TOWERS, FRAME)
START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
MODEL = EfficacyModel(efficacy_max=0.9, dose_half_sat_l_per_m2=0.25, half_life_days=4.0)
T0 = HOSTS.tower_index == 0


def around_first(tid: str = "TR-1", dose: float = 0.5, at: datetime = START) -> Treatment:
    """A 40 m square around tower T-0 (not T-1)."""
    corners = [(-20.0, -20.0), (20.0, -20.0), (20.0, 20.0), (-20.0, 20.0)]
    ring = [offset(*UTRECHT, east_m=e, north_m=n) for e, n in corners]
    return Treatment(tid, Polygon(ring), "Bacillus subtilis QST 713", dose, at)


def test_planned_treatment_is_zero_before_jumps_on_day_and_decays() -> None:
    planned = [PlannedTreatment(3, around_first(at=START - timedelta(days=30)))]
    sched = protection_schedule(HOSTS, TOWERS, FRAME, planned, [], START, 10, MODEL)
    assert sched.shape == (11, HOSTS.n)
    e = MODEL.efficacy(0.5)
    assert np.all(sched[:3] == 0.0)
    assert sched[3, T0] == pytest.approx(np.full(T0.sum(), e))
    for day in range(3, 11):
        assert sched[day, T0] == pytest.approx(e * 2.0 ** (-(day - 3) / 4.0))
    assert sched[7, T0] == pytest.approx(sched[3, T0] / 2.0)
    assert np.all(sched[:, ~T0] == 0.0)


def test_applied_treatment_decays_from_day_zero() -> None:
    applied = [around_first(at=START - timedelta(days=2))]
    sched = protection_schedule(HOSTS, TOWERS, FRAME, [], applied, START, 6, MODEL)
    e = MODEL.efficacy(0.5)
    for day in range(7):
        assert sched[day, T0] == pytest.approx(e * 2.0 ** (-(day + 2) / 4.0))
    assert np.all(sched[:, ~T0] == 0.0)


def test_applied_and_planned_combine_independently() -> None:
    applied = [around_first("TR-1", at=START)]
    planned = [PlannedTreatment(0, around_first("TR-2", dose=0.25))]
    sched = protection_schedule(HOSTS, TOWERS, FRAME, planned, applied, START, 2, MODEL)
    p1, p2 = MODEL.protection(0.5, 1.0), MODEL.protection(0.25, 1.0)
    assert sched[1, T0] == pytest.approx(1.0 - (1.0 - p1) * (1.0 - p2))


def test_no_treatments_gives_zeros() -> None:
    sched = protection_schedule(HOSTS, TOWERS, FRAME, [], [], START, 0, MODEL)
    assert sched.shape == (1, HOSTS.n) and not sched.any()


def test_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidParameter):
        PlannedTreatment(-1, around_first())
    with pytest.raises(InvalidParameter):
        protection_schedule(HOSTS, TOWERS, FRAME, [], [], START, -1, MODEL)
    with pytest.raises(InvalidParameter):
        protection_schedule(HOSTS, TOWERS, FRAME, [], [], START.replace(tzinfo=None), 1, MODEL)
    with pytest.raises(InvalidParameter):
        protection_schedule(HOSTS, TOWERS[:1], FRAME, [], [], START, 1, MODEL)
