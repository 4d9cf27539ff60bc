"""The blocking forecast computation: progress, parameter draws, the healthy start."""

from __future__ import annotations

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.forecast.model import Hosts, SpreadParams
from service.app import build_state, open_store
from service.demo import seed_demo
from service.fields import compute_field
from service.forecast_compute import (
    ForecastInputs,
    _start_arrays,
    compute_forecast,
    posterior_ensemble,
    served_weights,
)
from service.forecast_inputs import build_inputs
from service.schemas.forecasts import ForecastIn
from tests.service.forecast_jobs import END, small_settings


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> ForecastInputs:
    settings = small_settings(tmp_path_factory.mktemp("compute") / "data")
    store = open_store(settings)
    try:
        seed_demo(store, seed=7, end=END)
        state = build_state(settings, store)
        field = compute_field(store, state.towers.current(), settings)
        return build_inputs(state, field, ForecastIn(horizon_days=3, runs=8, seed=2), ())
    finally:
        store.close()


def test_progress_rises_to_one_and_skips_cached_work(inputs: ForecastInputs) -> None:
    first: list[float] = []
    compute_forecast(inputs, first.append)
    assert first == sorted(first) and first[0] >= 0.0
    # calibration, skill and the runs are 10 of 11 parts; the fronts' part ends with the result
    assert first[-1] == pytest.approx(10.0 / 11.0)
    second: list[float] = []
    compute_forecast(inputs, second.append)  # calibration and skill are cached now
    assert len(second) == inputs.runs  # one report per run, nothing else
    assert second[0] == pytest.approx(5.0 / 6.0 / inputs.runs)


def test_each_run_draws_its_parameters(inputs: ForecastInputs) -> None:
    frame_hosts = Hosts.from_towers(inputs.towers, LocalFrame.from_crs(inputs.crs))
    mean, se = _start_arrays(frame_hosts, inputs.tier_values)
    schedule = np.zeros((3, frame_hosts.n))
    seen: list[float] = []

    def draw(rng: np.random.Generator) -> SpreadParams:
        value = float(rng.uniform(0.0, 5.0))
        seen.append(value)
        return SpreadParams(reproductive_rate=value)

    posterior_ensemble(frame_hosts, mean, se, draw, 2, 6, 1, 0.5, schedule)
    assert len(seen) == 6 and len(set(seen)) == 6
    again: list[float] = []

    def record(rng: np.random.Generator) -> SpreadParams:
        again.append(float(rng.uniform(0.0, 5.0)))
        return SpreadParams()

    posterior_ensemble(frame_hosts, mean, se, record, 2, 6, 1, 0.5, schedule)
    assert again == seen  # the same seed draws the same parameters


def test_tiers_below_the_detection_floor_start_healthy(inputs: ForecastInputs) -> None:
    hosts = Hosts.from_towers(inputs.towers, LocalFrame.from_crs(inputs.crs))
    mean, se = _start_arrays(hosts, inputs.tier_values)
    floored_mean, floored_se = _start_arrays(hosts, inputs.tier_values, 0.06)
    low = mean < 0.06
    assert low.any() and (~low).any()
    assert np.all(floored_mean[low] == 0.0) and np.all(floored_se[low] == 0.0)
    np.testing.assert_array_equal(floored_mean[~low], mean[~low])
    np.testing.assert_array_equal(floored_se[~low], se[~low])


def test_served_weights_follow_the_hindcast_and_say_what_is_unverified() -> None:
    def horizon(h: int, weights: tuple[float, float, float]) -> dict[str, object]:
        names = ("spread", "growth", "persistence")
        return {
            "horizon_days": h,
            "weights": dict(zip(names, weights, strict=True)),
            "serves": "x",
            "reason": f"reason {h}",
        }

    skill = {"horizons": [horizon(1, (1.0, 0.0, 0.0)), horizon(3, (0.0, 1.0, 0.0))]}
    days = served_weights(skill, 5)
    assert [d["serves"] for d in days] == ["spread", "blend", "growth", "growth", "growth"]
    assert days[1]["weights"] == {"spread": 0.5, "growth": 0.5, "persistence": 0.0}
    assert [d["verified"] for d in days] == [True, True, True, False, False]
    assert days[4]["reason"] == "reason 3"
    none = served_weights({"status": "not computed"}, 2)
    assert [d["verified"] for d in none] == [False, False]
