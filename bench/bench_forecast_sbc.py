"""Simulation-based calibration of the ABC posterior on worlds drawn from the prior.

Worlds drawn from the default priors of the calibrated dispersal parameters
(:data:`geo.forecast.calibrate.DEFAULT_PRIORS`, the wind direction left out: an angle
has no rank) on a 10 x 10 grid of three-tier towers, simulated with the model for
``--days`` days, calibrated with the service's ABC settings (``--simulations`` draws,
400 by default as a forecast job's fit, 5 % kept); the rank of each true value among
the posterior's particles should be uniform (:mod:`geo.forecast.sbc`). The reference
is the uniform law itself: a chi-square p-value far below 0.05 or an outer-bin share
far from 0.5 means a posterior that is too narrow (outer share towards 1, the collapse
of issue 10) or too wide (towards 0).

    .venv/bin/python bench/bench_forecast_sbc.py [--worlds 50] [--simulations 400]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.forecast.model import SpreadParams
from geo.forecast.sbc import sbc_ranks, sbc_summary
from tests.geo.forecast.hosts import grid_hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=50)
    parser.add_argument("--simulations", type=int, default=400)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    hosts = grid_hosts(side=10)
    start = np.zeros(hosts.n)
    start[[135, 136, 150]] = 0.2
    base = SpreadParams(growth_rate_per_day=0.3)
    print("| calibration | kept | parameter | chi-square p (4 bins) | outer-bin share |")
    print("|---|---|---|---|---|")
    for label, fraction in (("service ABC", 0.05),):
        t = time.perf_counter()
        ranks, particles, names = sbc_ranks(
            hosts,
            start,
            args.days,
            args.worlds,
            7,
            base=base,
            n_simulations=args.simulations,
            accept_fraction=fraction,
        )
        summary = sbc_summary(ranks)
        for j, name in enumerate(names):
            print(
                f"| {label} | {particles} of {args.simulations} | {name} "
                f"| {summary['chi2_p'][j]:.3f} | {summary['outer_share'][j]:.2f} |"
            )
        print(f"<!-- {label}: {args.worlds} worlds in {time.perf_counter() - t:.0f} s -->")


if __name__ == "__main__":
    main()
