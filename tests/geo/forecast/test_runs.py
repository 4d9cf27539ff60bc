"""Ensembles with drawn parameters: tower probability, observation error, process noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.model import SpreadParams, SpreadState
from geo.forecast.runs import posterior_runs, tower_hits
from tests.geo.forecast.hosts import grid_hosts


def _start(values: np.ndarray):  # type: ignore[no-untyped-def]
    return lambda rng: SpreadState.initial(values)


def test_tower_probability_is_the_frequency_of_any_tier() -> None:
    hosts = grid_hosts(side=2)
    start = np.zeros(hosts.n)
    start[[0, 1]] = 0.45  # two tiers of tower 0, just under the threshold
    params = SpreadParams(reproductive_rate=0.0, growth_rate_per_day=0.0)
    res = posterior_runs(
        hosts, _start(start), lambda rng: params, 1, 400, 3, 0.5, observation_sd=0.05
    )
    tiers = res.probability[1, [0, 1]]
    # each tier is seen above 0.5 in about 16 % of runs, independently
    assert np.all((tiers > 0.1) & (tiers < 0.25))
    tower = res.tower_probability[1, 0]
    assert tower > tiers.max() + 0.05  # the largest tier probability is only a lower bound
    assert tower == pytest.approx(1 - np.prod(1 - tiers), abs=0.06)
    assert res.tower_probability[1, 1:].max() == 0.0
    np.testing.assert_array_equal(res.towers_blighted[:, 1] > 0, res.towers_blighted[:, 1] == 1)
    assert res.towers_blighted[:, 1].mean() == pytest.approx(tower)


def test_tower_hits_counts_any_tier() -> None:
    hosts = grid_hosts(side=2)
    hit = np.zeros((2, hosts.n), bool)
    hit[1, 4] = True  # tower 1, tier 1
    towers = tower_hits(hosts, hit)
    assert towers.tolist() == [[False] * 4, [False, True, False, False]]


def test_process_noise_and_parameter_draws_widen_the_count() -> None:
    hosts = grid_hosts(side=4)
    start = np.zeros(hosts.n)
    start[::3] = 0.2
    fixed = SpreadParams(reproductive_rate=0.0, growth_rate_per_day=0.3)
    noisy = replace(fixed, growth_sd_per_day=0.4)
    exact = posterior_runs(hosts, _start(start), lambda rng: fixed, 4, 60, 1, 0.5)
    assert np.ptp(exact.towers_blighted[:, -1]) == 0  # 60 runs that agree exactly
    wide = posterior_runs(hosts, _start(start), lambda rng: noisy, 4, 60, 1, 0.5)
    assert np.ptp(wide.towers_blighted[:, -1]) >= 3
    assert 0.05 < wide.tower_probability[-1].mean() < 0.95


def test_the_same_seed_gives_the_same_runs() -> None:
    hosts = grid_hosts(side=3)
    start = np.zeros(hosts.n)
    start[0] = 0.3
    draw = lambda rng: SpreadParams(reproductive_rate=float(rng.uniform(1, 8)))  # noqa: E731
    a = posterior_runs(hosts, _start(start), draw, 3, 10, 5, 0.2, observation_sd=0.02)
    b = posterior_runs(hosts, _start(start), draw, 3, 10, 5, 0.2, observation_sd=0.02)
    np.testing.assert_array_equal(a.towers_blighted, b.towers_blighted)
    np.testing.assert_array_equal(a.probability, b.probability)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": -1}, "days"),
        ({"runs": 0}, "runs"),
        ({"threshold": 1.0}, "threshold"),
        ({"observation_sd": -0.1}, "observation_sd"),
    ],
)
def test_bad_arguments_name_their_field(kwargs: dict[str, float], field: str) -> None:
    hosts = grid_hosts(side=2)
    args = {"days": 1, "runs": 2, "threshold": 0.5, "observation_sd": 0.0, **kwargs}
    with pytest.raises(InvalidParameter) as err:
        posterior_runs(
            hosts,
            _start(np.zeros(hosts.n)),
            lambda rng: SpreadParams(),
            int(args["days"]),
            int(args["runs"]),
            0,
            float(args["threshold"]),
            observation_sd=float(args["observation_sd"]),
        )
    assert err.value.field == field
