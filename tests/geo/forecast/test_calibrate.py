"""Tests of ABC calibration of spread parameters on data simulated by the model."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.calibrate import (
    DEFAULT_PRIORS,
    GrowthEstimate,
    Posterior,
    Prior,
    abc_distance,
    calibrate,
    estimate_growth_rate,
    update_posterior,
)
from geo.forecast.model import Hosts, SpreadParams, SpreadState, run
from geo.forecast.observed import ObservedSeries
from tests.geo.forecast.hosts import grid_hosts

START = datetime(2026, 5, 1, tzinfo=UTC)
BASE = SpreadParams(short_kernel="exponential", growth_rate_per_day=0.3, within_tower_fraction=0.3)
TRUE = replace(BASE, reproductive_rate=8.0, short_scale_m=20.0)
PRIORS = DEFAULT_PRIORS[:2]  # reproductive_rate, short_scale_m


def seeded(hosts: Hosts) -> np.ndarray:
    i0 = np.zeros(hosts.n)
    i0[[3 * 27 + 1, 3 * 36]] = 0.3
    return i0


@pytest.fixture(scope="module")
def hosts() -> Hosts:
    return grid_hosts()


def test_abc_recovers_reproductive_rate_and_scale(hosts: Hosts) -> None:
    traj = run(hosts, SpreadState.initial(seeded(hosts)), TRUE, 10, seed=0)
    series = ObservedSeries(traj, START)
    post = calibrate(hosts, series, base=BASE, priors=PRIORS, n_simulations=300, seed=1)
    summary = post.summary()
    for name, truth in (("reproductive_rate", 8.0), ("short_scale_m", 20.0)):
        s = summary[name]
        assert s["p05"] <= s["p50"] <= s["p95"]
        assert truth / 2 <= s["p50"] <= truth * 2, (name, s)
        # The truth lies within the 90 % credible interval.
        assert s["p05"] <= truth <= s["p95"], (name, s)
    assert post.samples.shape == (15, 2) and post.n_simulations == 300
    np.testing.assert_allclose(post.weights.sum(), 1.0)
    assert post.threshold == pytest.approx(post.distances.max())
    assert (post.start_day, post.end_day) == (0, 10)
    params = post.sample_params(np.random.default_rng(0))
    assert params.short_kernel == "exponential" and params.growth_rate_per_day == 0.3
    assert params.reproductive_rate in post.samples[:, 0]
    doc = json.loads(json.dumps(post.to_dict(), allow_nan=False))
    assert doc["names"] == ["reproductive_rate", "short_scale_m"]
    # Reproducible for a seed.
    again = calibrate(hosts, series, base=BASE, priors=PRIORS, n_simulations=300, seed=1)
    np.testing.assert_array_equal(again.samples, post.samples)


def test_update_moves_towards_new_data_cheaper_than_a_refit(hosts: Hosts) -> None:
    # Days 0-6 spread slowly, days 6-12 fast: the update must see only the fast days.
    slow = run(
        hosts, SpreadState.initial(seeded(hosts)), replace(TRUE, reproductive_rate=2.0), 6, 3
    )
    fast = run(hosts, SpreadState.initial(slow[-1]), replace(TRUE, reproductive_rate=16.0), 6, 4)
    series = ObservedSeries(np.vstack((slow, fast[1:])), START)
    post = calibrate(hosts, series, base=BASE, priors=PRIORS, end_day=6, n_simulations=300, seed=1)
    updated = update_posterior(post, hosts, series, n_simulations=100, seed=2)
    assert (updated.start_day, updated.end_day) == (6, 12)
    assert updated.n_simulations < post.n_simulations
    before = post.summary()["reproductive_rate"]["p50"]
    after = updated.summary()["reproductive_rate"]["p50"]
    assert after > before
    assert abs(np.log(after / 16.0)) < abs(np.log(before / 16.0))
    np.testing.assert_allclose(updated.weights.sum(), 1.0)
    assert np.all(updated.weights > 0.0)
    lows, highs = np.array([p.bounds for p in PRIORS]).T
    assert np.all((np.log(updated.samples) >= lows) & (np.log(updated.samples) <= highs))


def test_default_priors_and_mae_distance(hosts: Hosts) -> None:
    traj = run(hosts, SpreadState.initial(seeded(hosts)), TRUE, 5, seed=0)
    series = ObservedSeries(traj, START)
    post = calibrate(hosts, series, base=BASE, n_simulations=40, distance="mae", seed=3)
    assert post.names == tuple(p.name for p in DEFAULT_PRIORS)
    assert post.samples.shape == (10, 4) and post.distance == "mae"
    wind = post.samples[:, post.names.index("wind_dir_deg")]
    assert np.all((wind >= -180.0) & (wind <= 180.0))
    updated = update_posterior(post, hosts, series, start_day=2, n_simulations=20, seed=4)
    assert updated.distance == "mae" and updated.samples.shape == (10, 4)
    wind = updated.samples[:, updated.names.index("wind_dir_deg")]
    assert np.all((wind >= -180.0) & (wind <= 180.0))


def test_invalid_arguments(hosts: Hosts) -> None:
    series = ObservedSeries(np.zeros((4, hosts.n)), START)
    with pytest.raises(InvalidParameter):
        calibrate(hosts, series, end_day=0)
    with pytest.raises(InvalidParameter):
        calibrate(hosts, series, n_simulations=1)
    with pytest.raises(InvalidParameter):
        calibrate(hosts, series, accept_fraction=0.0)
    with pytest.raises(InvalidParameter):
        calibrate(grid_hosts(2), series)
    empty = ObservedSeries(np.full((4, hosts.n), np.nan), START)
    with pytest.raises(InvalidParameter):
        calibrate(hosts, empty)
    with pytest.raises(InvalidParameter):
        Prior("no_such_field", 0.0, 1.0)
    with pytest.raises(InvalidParameter):
        Prior("reproductive_rate", 0.0, 1.0, log=True)
    post = calibrate(hosts, series, n_simulations=10, seed=0)
    assert isinstance(post, Posterior)
    with pytest.raises(InvalidParameter):
        update_posterior(post, hosts, series)  # no new day after end_day


def noisy(traj: np.ndarray, sd: float, seed: int) -> np.ndarray:
    """Observations of ``traj`` with additive Gaussian noise, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    return np.clip(traj + rng.normal(0.0, sd, traj.shape), 0.0, 1.0)


def test_growth_rate_is_measured_from_noisy_observations(hosts: Hosts) -> None:
    truth = replace(TRUE, growth_rate_per_day=0.4)
    traj = run(hosts, SpreadState.initial(seeded(hosts)), truth, 10, seed=0)
    series = ObservedSeries(noisy(traj, 0.02, 1), START).with_detection_floor(0.05, 0.03)
    estimate = estimate_growth_rate(series, end_day=10)
    assert estimate is not None and estimate.n_pairs > 50
    assert estimate.rate_per_day == pytest.approx(0.4, abs=0.04)
    assert 0.0 < estimate.se_per_day < 0.05
    assert estimate.p25 < estimate.rate_per_day < estimate.p75
    # Too few slopes (one day of data), or a window outside the series.
    assert estimate_growth_rate(series, end_day=0) is None
    with pytest.raises(InvalidParameter):
        estimate_growth_rate(series, end_day=11)


def test_growth_estimate_combines_with_a_prior() -> None:
    estimate = GrowthEstimate(0.6, 10, 0.4, 0.8, se_per_day=0.1)
    # Equal precision: halfway; a tight prior dominates; no prior spread: the prior.
    assert estimate.combined(0.4, 0.1) == pytest.approx(0.5)
    assert estimate.combined(0.3, 0.01) == pytest.approx((0.3 * 1e4 + 0.6 * 100) / (1e4 + 100))
    assert estimate.combined(0.3, 0.0) == 0.3
    assert GrowthEstimate(0.6, 10, 0.4, 0.8).combined(0.3, 0.1) == 0.6


def test_noisy_starts_calibrate_and_update(hosts: Hosts) -> None:
    traj = run(hosts, SpreadState.initial(seeded(hosts)), TRUE, 8, seed=0)
    series = ObservedSeries(noisy(traj, 0.01, 2), START).with_detection_floor(0.03, 0.02)
    # The same seed gives the same distance; the start is drawn, not the observed state.
    d1 = abc_distance(hosts, series, TRUE, 0, 4, seed=5)
    assert d1 == abc_distance(hosts, series, TRUE, 0, 4, seed=5)
    post = calibrate(hosts, series, base=BASE, priors=PRIORS, end_day=4, n_simulations=200, seed=1)
    rate = post.summary()["reproductive_rate"]
    assert rate["p05"] <= 8.0 <= rate["p95"], rate
    updated = update_posterior(post, hosts, series, n_simulations=60, seed=2)
    assert (updated.start_day, updated.end_day) == (4, 8)
    np.testing.assert_allclose(updated.weights.sum(), 1.0)
