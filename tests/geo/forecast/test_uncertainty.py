"""Process noise measured from observed slopes, and the posterior predictive check."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from geo.forecast.calibrate import calibrate
from geo.forecast.model import SpreadParams, SpreadState, run
from geo.forecast.observed import ObservedSeries
from geo.forecast.ppc import posterior_predictive_check
from geo.forecast.uncertainty import posterior_draw, process_sd
from tests.geo.forecast.hosts import grid_hosts

START = datetime(2026, 5, 1, tzinfo=UTC)


def _observed(sd_per_day: float, noise: float, seed: int = 0) -> ObservedSeries:
    """12 days of a growth-only history of 300 tiers, reported with ``noise``."""
    hosts = grid_hosts(side=10)
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.05, 0.3, hosts.n)
    params = SpreadParams(
        reproductive_rate=0.0, growth_rate_per_day=0.3, growth_sd_per_day=sd_per_day
    )
    truth = run(hosts, SpreadState.initial(start), params, 11, seed)
    reported = np.clip(truth + noise * rng.standard_normal(truth.shape), 0.0, 1.0)
    return ObservedSeries(reported, START, 0.0, noise)


@pytest.mark.parametrize("sd", [0.0, 0.2, 0.4])
def test_process_noise_is_measured_through_the_observation_error(sd: float) -> None:
    series = _observed(sd, 0.02)
    measured = process_sd(series, series.days - 1, 0.3, 0.02)
    assert measured is not None
    assert measured == pytest.approx(sd, abs=0.07)
    # ignoring the observation error would overstate it
    naive = process_sd(series, series.days - 1, 0.3, 0.0)
    assert naive is not None and naive > measured


def test_too_few_pairs_give_none() -> None:
    series = _observed(0.1, 0.02)
    assert process_sd(series, 0, 0.3, 0.02) is None


def test_posterior_predictive_check_tells_a_right_model_from_a_wrong_one() -> None:
    hosts = grid_hosts(side=6)
    truth_params = SpreadParams(reproductive_rate=6.0, growth_rate_per_day=0.35)
    start = np.zeros(hosts.n)
    start[[0, 1, 2]] = 0.1
    truth = run(hosts, SpreadState.initial(start), truth_params, 8, 4)
    rng = np.random.default_rng(1)
    reported = np.clip(truth + 0.01 * rng.standard_normal(truth.shape), 0.0, 1.0)
    series = ObservedSeries(reported, START).with_detection_floor(0.03, 0.01)
    posterior = calibrate(
        hosts, series, base=truth_params, n_simulations=60, accept_fraction=0.2, seed=2
    )
    right = posterior_predictive_check(
        hosts, series, posterior_draw(posterior, 0.35, 0.02, 0.0), 0, 8, 40, 3, 0.2
    )
    wrong_base = replace(posterior, base=replace(truth_params, growth_rate_per_day=0.02))
    wrong = posterior_predictive_check(
        hosts, series, posterior_draw(wrong_base, 0.02), 0, 8, 40, 3, 0.2
    )
    assert right["mean_intensity"]["inside_90"] >= 0.6
    assert 0.02 < right["mean_intensity"]["p_value"] < 0.98
    assert wrong["mean_intensity"]["inside_90"] <= 0.3
    assert wrong["mean_intensity"]["p_value"] < 0.02  # far too little blight predicted
    assert len(right["days"]) == 8 and len(right["blighted"]["observed"]) == 8
