"""The demo district's 7-day hindcast, scored on the independent outbreak simulator.

A smaller configuration of ``bench/bench_forecast_skill.py`` (four outbreak histories,
fewer runs and simulations), with fixed seeds: the forecast must beat persistence,
be reliable within 10 percentage points on bins with at least 50 forecasts, give
genuinely probabilistic forecasts, and show skill on the tiers that were not
blighted when it was issued (where persistence always says "no").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.forecast.calibrate import estimate_growth_rate
from geo.forecast.hindcast import HorizonHindcast, Verification, hindcast, pool
from geo.forecast.model import Hosts
from geo.forecast.observed import ObservedSeries, daily_tier_states, noise_floor

HISTORY_SEEDS = (11, 1, 2, 3)
MIN_COUNT = 50
"""Forecasts a reliability bin needs to be judged. A bin of 50 at p = 0.2 has a binomial
standard error of 0.057; one of 20, 0.09, so a 0.10 bar on bins of 20 fails on noise
alone: with this configuration the gap over bins of >= 20 is 0.02-0.22 depending on the
hindcast seed (3 of 10 seeds above 0.10, see docs/forecast-validation.md), over bins of
>= 50 it is 0.02-0.12 (1 of 10 above)."""


def _history(hosts: Hosts, seed: int) -> ObservedSeries:
    from geo.demo import demo_towers, simulate_outbreak

    history = simulate_outbreak(demo_towers(), end=datetime(2026, 6, 1, tzinfo=UTC), seed=seed)
    reports = [o for o in history.observations if o.source in ("sensor", "drone")]
    return daily_tier_states(reports, hosts, history.times[0], days=14, aggregate="mean")


def _whole_history_growth(series: ObservedSeries) -> float:
    estimate = estimate_growth_rate(
        series.with_detection_floor(min(noise_floor(series), 0.1)), series.days - 1
    )
    assert estimate is not None
    return estimate.rate_per_day


@pytest.fixture(scope="module")
def hindcasts() -> list[HorizonHindcast]:
    from geo.demo import demo_towers

    towers = demo_towers()
    hosts = Hosts.from_towers(
        towers, LocalFrame.for_geometries([t.footprint_wgs84 for t in towers])
    )
    histories = [_history(hosts, seed) for seed in HISTORY_SEEDS]
    growth = [_whole_history_growth(s) for s in histories]
    out = []
    for k, series in enumerate(histories):
        # The growth prior comes from the other outbreaks only (leave one out).
        others = np.delete(np.asarray(growth), k)
        report = hindcast(
            hosts,
            series,
            horizon_days=[7],
            runs=100,
            seed=3,
            calibrate_days=6,
            n_simulations=150,
            growth_prior=(float(others.mean()), float(others.std(ddof=1))),
            min_count=MIN_COUNT,
        )
        json.dumps(report.to_dict(), allow_nan=False)
        out.append(report.horizons[0])
    return out


@pytest.fixture(scope="module")
def pooled(hindcasts: list[HorizonHindcast]) -> Verification:
    verifications = [h.verification for h in hindcasts]
    assert all(v is not None for v in verifications)
    return pool([v for v in verifications if v is not None])


def test_demo_hindcast_beats_persistence_and_is_reliable(pooled: Verification) -> None:
    skill = pooled.skill(7, MIN_COUNT)
    rel = pooled.reliability(MIN_COUNT)
    assert skill.n == pooled.probability.size >= 400
    assert skill.bss is not None and skill.bss > 0.0
    assert rel.max_gap is not None and rel.max_gap <= 0.10, rel
    # At least two bins (p < 0.1 and 0.1-0.2; 0.2-0.3 too with this seed) are judged.
    assert int((rel.count >= MIN_COUNT).sum()) >= 2
    assert skill.auc is not None and skill.auc > 0.6


def test_demo_hindcast_probabilities_are_not_degenerate(pooled: Verification) -> None:
    assert pooled.probabilistic_share() > 0.5
    counts, _ = np.histogram(pooled.probability, bins=np.linspace(0.0, 1.0, 11))
    assert int((counts > 0).sum()) >= 5
    # The forecast expects about as many blighted tiers as were observed.
    expected, observed = pooled.probability.sum(), pooled.outcome.sum()
    assert 0.6 * observed <= expected <= 1.4 * observed


def test_demo_hindcast_has_skill_where_persistence_says_no(pooled: Verification) -> None:
    groups = {g.group: g for g in pooled.groups()}
    fresh = groups["not_blighted_at_issue"]
    assert fresh.events > 20 and fresh.n > 400
    assert fresh.bss is not None and fresh.bss > 0.0
    assert fresh.auc is not None and fresh.auc > 0.6
    # Tiers seen blighted on the issue day stay blighted in the forecast.
    already = groups["blighted_at_issue"]
    assert already.expected_events == pytest.approx(already.n, abs=0.5)


def test_demo_hindcast_measures_growth_per_history(hindcasts: list[HorizonHindcast]) -> None:
    for h in hindcasts:
        assert h.issued_day == 6 and h.horizon_days == 7
        assert 0.0 < h.detection_floor <= 0.1
        assert h.noise_sd == pytest.approx(h.detection_floor / 1.645)
        # The simulator's tiers grow at about 0.3-0.45 per day in logit.
        assert 0.15 <= h.posterior.base.growth_rate_per_day <= 0.7
