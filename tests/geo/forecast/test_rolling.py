"""The rolling hindcast: issue days, pooled pairs per horizon, the chosen process noise."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.blend import choose_blend
from geo.forecast.model import SpreadParams, SpreadState, run
from geo.forecast.observed import ObservedSeries
from geo.forecast.rolling import issue_days, rolling_hindcast
from tests.geo.forecast.hosts import grid_hosts


def test_issue_days_cover_each_horizon_twice() -> None:
    assert issue_days(10, (1, 3), 2) == [6, 7, 8, 9]
    assert issue_days(4, (1, 3, 7), 2) == [1, 2, 3]  # day 0 has nothing to calibrate on


@pytest.fixture(scope="module")
def series() -> ObservedSeries:
    hosts = grid_hosts(side=6)
    start = np.zeros(hosts.n)
    start[[0, 1, 2, 30, 31]] = [0.1, 0.2, 0.05, 0.3, 0.1]
    params = SpreadParams(reproductive_rate=3.0, growth_rate_per_day=0.35, growth_sd_per_day=0.2)
    truth = run(hosts, SpreadState.initial(start), params, 9, 2)
    rng = np.random.default_rng(3)
    reported = np.clip(truth + 0.02 * rng.standard_normal(truth.shape), 0.0, 1.0)
    reported[rng.random(reported.shape) < 0.3] = np.nan  # a third unreported
    reported[-1, :] = np.clip(truth[-1] + 0.02 * rng.standard_normal(truth.shape[1]), 0, 1)
    raw = ObservedSeries(reported, datetime(2026, 1, 1, tzinfo=UTC))
    return raw.with_detection_floor(0.05, 0.03)


def test_pairs_pool_over_issue_days_and_the_noise_is_chosen(series: ObservedSeries) -> None:
    hosts = grid_hosts(side=6)
    found = rolling_hindcast(
        hosts,
        series,
        (1, 3),
        20,
        4,
        0.2,
        n_simulations=20,
        growth_sds=(0.0, 0.3),
        start_laws=("draw", "zero"),
    )
    assert found.issued == [5, 6, 7, 8]
    assert set(found.pairs) == {1, 3}
    one = found.pairs[1]
    assert one.issues == 4 and one.n > 50  # each issue day scores horizon 1 on day t + 1
    assert found.pairs[3].issues == 2
    for pairs in found.pairs.values():
        assert pairs.spread.shape == pairs.growth.shape == pairs.persistence.shape
        assert set(np.unique(pairs.persistence)) <= {0.0, 1.0}
        assert np.all((pairs.spread >= 0) & (pairs.spread <= 1))
        blend = choose_blend(pairs)
        assert blend.brier["served"] <= blend.brier["spread"] + 1e-12
    assert found.growth_sd_per_day in (0.0, 0.3) and found.start_law in ("draw", "zero")
    assert len(found.choice_brier) == 4
    best = min(found.choice_brier.values())
    assert found.choice_brier[(found.start_law, found.growth_sd_per_day)] == best


def test_a_horizon_less_than_one_is_refused(series: ObservedSeries) -> None:
    with pytest.raises(InvalidParameter):
        rolling_hindcast(grid_hosts(side=6), series, (0,), 5, 1, 0.2)
