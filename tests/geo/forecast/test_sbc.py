"""Simulation-based calibration: the ABC posterior does not collapse."""

from __future__ import annotations

import numpy as np

from geo.forecast.calibrate import Prior
from geo.forecast.model import SpreadParams
from geo.forecast.sbc import sbc_ranks, sbc_summary
from tests.geo.forecast.hosts import grid_hosts

PRIORS = (
    Prior("reproductive_rate", 0.5, 20.0, log=True),
    Prior("short_scale_m", 5.0, 100.0, log=True),
)
BASE = SpreadParams(growth_rate_per_day=0.3)


def _start(n: int) -> np.ndarray:
    start = np.zeros(n)
    start[[30, 31, 32, 90]] = 0.2
    return start


def test_ranks_of_prior_worlds_are_uniform() -> None:
    hosts = grid_hosts(side=7)
    ranks, particles, names = sbc_ranks(
        hosts,
        _start(hosts.n),
        5,
        24,
        1,
        base=BASE,
        priors=PRIORS,
        n_simulations=60,
        accept_fraction=0.25,
    )
    assert names == ("reproductive_rate", "short_scale_m") and particles == 15
    summary = sbc_summary(ranks)
    assert min(summary["chi2_p"]) > 0.01
    assert max(summary["outer_share"]) < 0.75  # 0.5 expected; a collapsed posterior: ~1


def test_the_summary_flags_ranks_piled_at_the_ends() -> None:
    rng = np.random.default_rng(0)
    uniform = rng.uniform(0.0, 1.0, (200, 1))
    collapsed = np.where(uniform < 0.5, 0.0, 1.0)  # the truth always outside the particles
    too_wide = 0.5 + 0.1 * (uniform - 0.5)  # the truth always in the middle
    assert sbc_summary(uniform)["chi2_p"][0] > 0.01
    assert sbc_summary(collapsed)["outer_share"][0] == 1.0
    assert sbc_summary(collapsed)["chi2_p"][0] < 1e-6
    assert sbc_summary(too_wide)["outer_share"][0] == 0.0
