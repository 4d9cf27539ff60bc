"""Tests of hindcasts: on data simulated by the model, and on the independent demo."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.calibrate import DEFAULT_PRIORS
from geo.forecast.hindcast import GROUPS, Verification, hindcast, pool
from geo.forecast.model import Hosts, SpreadParams, SpreadState, run
from geo.forecast.observed import ObservedSeries
from tests.geo.forecast.hosts import grid_hosts

START = datetime(2026, 5, 1, tzinfo=UTC)
BASE = SpreadParams(short_kernel="exponential", growth_rate_per_day=1.0, within_tower_fraction=0.3)
TRUE = replace(BASE, reproductive_rate=4.0, short_scale_m=20.0)


@pytest.fixture(scope="module")
def synthetic() -> tuple[Hosts, ObservedSeries]:
    hosts = grid_hosts()
    i0 = np.zeros(hosts.n)
    i0[[3 * 27 + 1, 3 * 36]] = 0.3
    traj = run(hosts, SpreadState.initial(i0), TRUE, 13, seed=0)
    # Observe two tiers out of three each day (a rotating pattern), as sensors would.
    mask = (np.arange(hosts.n)[None, :] + np.arange(14)[:, None]) % 3 != 0
    return hosts, ObservedSeries(np.where(mask, traj, np.nan), START)


def test_hindcast_beats_persistence_on_model_data(
    synthetic: tuple[Hosts, ObservedSeries],
) -> None:
    hosts, series = synthetic
    report = hindcast(
        hosts,
        series,
        horizon_days=[3],
        runs=30,
        seed=5,
        calibrate_days=6,
        base=BASE,
        priors=DEFAULT_PRIORS[:2],
        n_simulations=200,
    )
    (h3,) = report.horizons
    assert report.verified_day == 13 and h3.issued_day == 10 and h3.horizon_days == 3
    assert h3.skill.n == int(series.observed_mask[13].sum())
    assert h3.skill.bss is not None and h3.skill.bss > 0.0
    assert h3.posterior.end_day == 10 and h3.posterior.start_day == 4
    doc = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert doc["horizons"][0]["skill"]["bss"] == pytest.approx(h3.skill.bss)
    assert len(doc["horizons"][0]["reliability"]["count"]) == 10


def test_hindcast_rejects_bad_arguments(synthetic: tuple[Hosts, ObservedSeries]) -> None:
    hosts, series = synthetic
    bad: list[dict[str, Any]] = [
        {"horizon_days": []},
        {"horizon_days": [13]},
        {"horizon_days": [0]},
        {"runs": 0},
        {"calibrate_days": 0},
        {"threshold": 1.0},
    ]
    for kwargs in bad:
        args: dict[str, Any] = {"horizon_days": [3], "runs": 2, "calibrate_days": 3}
        args.update(kwargs)
        with pytest.raises(InvalidParameter):
            hindcast(hosts, series, seed=0, n_simulations=4, **args)


def test_verification_groups_and_pooling_by_hand() -> None:
    v = Verification(
        probability=np.array([1.0, 0.9, 0.5, 0.2, 0.1, 0.0]),
        outcome=np.array([True, True, True, False, True, False]),
        persistence=np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        detected=np.array([True, True, False, True, False, False]),
    )
    groups = {g.group: g for g in v.groups()}
    assert [g.group for g in v.groups()] == list(GROUPS)
    fresh = groups["not_blighted_at_issue"]
    assert (fresh.n, fresh.events) == (5, 3)
    assert fresh.expected_events == pytest.approx(1.7)
    # Brier (0.01 + 0.25 + 0.04 + 0.81 + 0) / 5 against persistence 3 / 5.
    assert fresh.brier == pytest.approx(1.11 / 5)
    assert fresh.bss == pytest.approx(1.0 - 1.11 / 3.0)
    assert groups["blighted_at_issue"].bss is None  # persistence was perfect there
    detected = groups["detected_below"]
    assert (detected.n, detected.events, detected.auc) == (2, 1, 1.0)
    assert groups["undetected"].n == 3
    assert v.probabilistic_share() == pytest.approx(4 / 6)  # 0.9, 0.5, 0.2, 0.1
    doc = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert sum(doc["probability_histogram"]) == 6
    fresh_only = v.subset(v.group_mask("not_blighted_at_issue"))
    assert fresh_only.probability.size == 5 and not fresh_only.persistence.any()
    both = pool([v, v])
    assert both.probability.size == 12
    assert {g.group: g.n for g in both.groups()}["undetected"] == 6
    assert both.skill(7).brier == pytest.approx(v.skill(7).brier)
    with pytest.raises(InvalidParameter):
        pool([])
    with pytest.raises(InvalidParameter):
        v.group_mask("nobody")


def test_growth_is_measured_fixed_or_from_a_prior(
    synthetic: tuple[Hosts, ObservedSeries],
) -> None:
    hosts, series = synthetic
    args: dict[str, Any] = {
        "horizon_days": [3],
        "runs": 4,
        "seed": 1,
        "calibrate_days": 3,
        "base": BASE,
        "priors": DEFAULT_PRIORS[:1],
        "n_simulations": 10,
    }
    (measured,) = hindcast(hosts, series, **args).horizons
    # The model's own data grow at exactly its rate (1 per day).
    assert measured.growth is not None
    assert measured.posterior.base.growth_rate_per_day == pytest.approx(1.0, abs=1e-6)
    assert measured.detection_floor == 0.0 and measured.noise_sd == 0.0
    fixed_base = replace(BASE, growth_rate_per_day=0.3)
    (fixed,) = hindcast(hosts, series, **{**args, "base": fixed_base, "growth": "fixed"}).horizons
    assert fixed.growth is None and fixed.posterior.base.growth_rate_per_day == 0.3
    (prior,) = hindcast(hosts, series, **args, growth_prior=(0.5, 0.0)).horizons
    assert prior.posterior.base.growth_rate_per_day == 0.5
    (abc,) = hindcast(hosts, series, **{**args, "growth": "calibrate"}).horizons
    assert abc.posterior.names[-1] == "growth_rate_per_day"
    bads: list[dict[str, Any]] = [{"growth_prior": (0.3, -1.0)}, {"growth_prior": (math.nan, 0.1)}]
    for bad in bads:
        with pytest.raises(InvalidParameter):
            hindcast(hosts, series, **args, **bad)
    with pytest.raises(InvalidParameter):
        hindcast(hosts, series, **{**args, "growth": "guess"})
