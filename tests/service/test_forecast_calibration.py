"""Calibration records per data version: fit, update, carry over, time budget, disk."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.demo import demo_towers, simulate_outbreak
from geo.forecast.model import Hosts
from geo.forecast.observed import ObservedSeries
from geo.observations import Observation
from service.forecast_calibration import CalibrationBudget, calibration_for, observed_history
from service.forecast_records import CalibrationCache, CalibrationRecord

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
BUDGET = CalibrationBudget(fit_simulations=30, update_simulations=20, max_seconds=1e6)


@pytest.fixture(scope="module")
def demo() -> tuple[Hosts, list[Observation]]:
    towers = demo_towers(7)
    frame = LocalFrame.for_geometries([t.footprint_wgs84 for t in towers])
    history = simulate_outbreak(towers, end=END, seed=11)
    return Hosts.from_towers(towers, frame), list(history.observations)


def _series(demo: tuple[Hosts, list[Observation]], until: datetime) -> ObservedSeries:
    hosts, observations = demo
    kept = [o for o in observations if o.observed_at <= until]
    series = observed_history(kept, hosts, max(o.observed_at for o in kept), 21)
    assert series is not None
    return series


def test_history_is_whole_utc_days(demo: tuple[Hosts, list[Observation]]) -> None:
    series = _series(demo, END)
    assert series.start == datetime(2026, 10, 18, tzinfo=UTC)
    assert series.days == 15 and series.observed_mask.any(axis=1).all()
    hosts, observations = demo
    one_day = [o for o in observations if o.observed_at >= END.replace(hour=0)]
    assert observed_history(one_day, hosts, END, 21) is None
    assert observed_history([], hosts, END, 21) is None


def test_fit_then_reuse_then_update(demo: tuple[Hosts, list[Observation]], tmp_path: Path) -> None:
    hosts, _ = demo
    cache = CalibrationCache(tmp_path)
    early = _series(demo, END - timedelta(days=2))
    fitted = calibration_for(cache, hosts, early, 1, BUDGET)
    assert fitted.status == "fitted" and fitted.n_simulations == 30
    assert fitted.posterior.weights.size == 10  # min_accepted of 30 x 5 %
    assert calibration_for(cache, hosts, early, 1, BUDGET) is fitted  # memory
    assert calibration_for(CalibrationCache(tmp_path), hosts, early, 1, BUDGET).computed_at == (
        fitted.computed_at
    )  # disk
    later = _series(demo, END)
    updated = calibration_for(cache, hosts, later, 2, BUDGET)
    assert updated.status == "updated" and updated.n_simulations == 20
    assert updated.days_used == ("2026-10-31", "2026-11-01")  # the two new days only
    assert updated.lineage[-1]["data_version"] == 1
    assert updated.end_time == datetime(2026, 11, 1, tzinfo=UTC)


def test_the_time_budget_cuts_the_simulations(
    demo: tuple[Hosts, list[Observation]], tmp_path: Path
) -> None:
    hosts, _ = demo
    tight = dataclasses.replace(BUDGET, max_seconds=1e-6)
    record = calibration_for(CalibrationCache(tmp_path), hosts, _series(demo, END), 1, tight)
    assert record.limited_by_time and record.n_simulations == 20  # the floor
    assert record.report()["limited_by_time"] is True


def test_records_round_trip_and_foreign_or_broken_files_are_ignored(
    demo: tuple[Hosts, list[Observation]], tmp_path: Path
) -> None:
    hosts, _ = demo
    series = _series(demo, END)
    record = calibration_for(CalibrationCache(tmp_path), hosts, series, 3, BUDGET)
    path = tmp_path / "v000000000003.json"
    back = CalibrationRecord.from_json(json.loads(path.read_text()))
    np.testing.assert_array_equal(back.posterior.samples, record.posterior.samples)
    np.testing.assert_array_equal(back.posterior.weights, record.posterior.weights)
    assert back.posterior.base == record.posterior.base
    assert back.report() == record.report()
    other = dataclasses.replace(BUDGET, seed=99)  # another fingerprint: refit, not reuse
    refit = calibration_for(CalibrationCache(tmp_path), hosts, series, 3, other)
    assert refit.status == "fitted" and refit.computed_at != record.computed_at
    path.write_text("{broken")
    again = calibration_for(CalibrationCache(tmp_path), hosts, series, 3, BUDGET)
    assert again.status == "fitted" and again.computed_at != record.computed_at
    assert json.loads(path.read_text())["computed_at"] != record.report()["computed_at"]
