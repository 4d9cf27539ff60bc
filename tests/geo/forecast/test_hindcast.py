"""Tests of hindcasts: on data simulated by the model, and on the independent demo."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.calibrate import DEFAULT_PRIORS
from geo.forecast.hindcast import hindcast
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
