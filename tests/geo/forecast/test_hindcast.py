"""Tests of hindcasts: on data simulated by the model, and on the independent demo."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.errors import InvalidParameter
from geo.forecast.calibrate import DEFAULT_PRIORS
from geo.forecast.hindcast import hindcast
from geo.forecast.model import Hosts, SpreadParams, SpreadState, run
from geo.forecast.observed import ObservedSeries, daily_tier_states
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


def test_demo_outbreak_hindcast_is_well_formed() -> None:
    from geo.demo import demo_towers, simulate_outbreak

    towers = demo_towers()
    history = simulate_outbreak(towers, end=datetime(2026, 6, 1, tzinfo=UTC), days=14)
    frame = LocalFrame.for_geometries([t.footprint_wgs84 for t in towers])
    hosts = Hosts.from_towers(towers, frame)
    reports = [o for o in history.observations if o.source in ("sensor", "drone")]
    series = daily_tier_states(reports, hosts, history.times[0], days=14)
    report = hindcast(
        hosts, series, horizon_days=[7], runs=40, seed=3, calibrate_days=6, n_simulations=300
    )
    (h7,) = report.horizons
    skill = h7.skill.to_dict()
    for key in ("brier", "brier_persistence", "quantity", "allocation", "mcc"):
        value = skill[key]
        assert value is not None and math.isfinite(value)
    assert 0.0 <= h7.skill.brier <= 1.0 and h7.skill.n > 50
    json.dumps(report.to_dict(), allow_nan=False)
    print(
        f"demo 7-day hindcast: BSS vs persistence {skill['bss']}, "
        f"reliability max gap {skill['reliability_max_gap']}, AUC {skill['auc']}, n {skill['n']}"
    )
