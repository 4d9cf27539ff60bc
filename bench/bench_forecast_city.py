"""Speed of the tower model as ``POST /forecasts`` runs it, for a city of up to 5,000 towers.

A synthetic city: towers on a jittered 25 m grid, 3-9 tiers each (about six on
average), 2 % of the towers with one or two infected tiers (intensity 0.1-0.5). The
measured path is :func:`service.forecast_compute.posterior_ensemble`, the function a
forecast job's ``_run`` calls: every run draws its parameters (reproductive rate
log-normal around 4 spores a day, growth 0.3 +- 0.02 per day with process noise 0.1,
Cauchy kernel of 20 m, wind), its start from the field's value and error (detection
floor 0.05) and its observation error (sd 0.03), and the ensemble counts towers with any
tier above 0.5. Served forecasts that blend in the growth-only runs run a second,
cheaper ensemble; it is timed too.

Beside it, in the same run: the earlier ensemble (:func:`geo.forecast.ensemble.ensemble`,
fixed parameters, no observation error, intensity quantiles kept), the path forecasts
took before issue 10, at the same size; the ratio is old / new.

Goal (issue 10): 14 days, 200 runs, 5,000 towers in at most 60 s on this 2-core machine.

    .venv/bin/python bench/bench_forecast_city.py [--towers 50 200 1000 5000] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.crs import LocalFrame
from geo.forecast.ensemble import ensemble
from geo.forecast.model import Hosts, SpreadParams
from geo.forecast.rolling import without_spread
from geo.layer import Tier, Tower
from service.forecast_compute import posterior_ensemble

DAYS = 14
THRESHOLD = 0.5
BASE = SpreadParams(
    reproductive_rate=4.0,
    short_scale_m=20.0,
    growth_rate_per_day=0.3,
    growth_sd_per_day=0.1,
    wind_dir_deg=60.0,
    wind_kappa=1.0,
)


def city(towers: int, seed: int = 0) -> tuple[list[Tower], np.ndarray, np.ndarray]:
    """Towers of the synthetic city and each tier's starting mean and error."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(towers)))
    out = []
    for k in range(towers):
        x = (k % side) * 25.0 + rng.uniform(-5, 5)
        y = (k // side) * 25.0 + rng.uniform(-5, 5)
        lon, lat = 4.9 + x / 67_800.0, 52.37 + y / 111_132.0
        tiers = tuple(Tier(level=i, height_m=1.0 + 2.5 * i) for i in range(rng.integers(3, 10)))
        out.append(Tower(f"c{k}", box(lon, lat, lon + 8e-5, lat + 5e-5), 40.0, 25.0, tiers))
    n = sum(len(t.tiers) for t in out)
    mean = np.zeros(n)
    first = np.cumsum([0] + [len(t.tiers) for t in out[:-1]])
    sick = rng.choice(towers, max(1, towers // 50), replace=False)
    mean[first[sick]] = rng.uniform(0.1, 0.5, sick.size)
    mean[first[sick] + 1] = rng.uniform(0.0, 0.3, sick.size)
    return out, mean, np.where(mean > 0, 0.02, 0.01)


def draw(rng: np.random.Generator) -> SpreadParams:
    """A run's parameters (as a calibrated posterior gives them)."""
    return replace(
        BASE,
        reproductive_rate=float(4.0 * np.exp(0.3 * rng.standard_normal())),
        growth_rate_per_day=max(0.3 + 0.02 * float(rng.standard_normal()), 0.0),
    )


def measure(towers: int, runs: int) -> dict[str, float]:
    """Wall and CPU seconds of the served path, its growth-only companion, and the old
    ensemble, for ``towers`` towers."""
    tower_list, mean, se = city(towers)
    frame = LocalFrame.for_geometries([t.footprint_wgs84 for t in tower_list])
    out: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    hosts = Hosts.from_towers(tower_list, frame)
    protection = np.zeros((DAYS + 1, hosts.n))
    res = posterior_ensemble(
        hosts,
        mean,
        se,
        draw,
        DAYS,
        runs,
        1,
        THRESHOLD,
        protection,
        observation_sd=0.03,
        detection_floor=0.05,
    )
    out["served_wall"], out["served_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    out["blighted_day14"] = float(res.towers_blighted[:, -1].mean())
    out["hosts"] = float(hosts.n)
    t0, c0 = time.perf_counter(), time.process_time()
    posterior_ensemble(
        hosts,
        mean,
        se,
        without_spread(draw),
        DAYS,
        runs,
        1,
        THRESHOLD,
        protection,
        observation_sd=0.03,
        detection_floor=0.05,
    )
    out["growth_wall"], out["growth_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    ensemble(hosts, mean, se, BASE, DAYS, runs, 1, THRESHOLD)
    out["old_wall"], out["old_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--towers", type=int, nargs="+", default=[50, 200, 1000, 5000])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {args.runs} runs x {DAYS} days")
    print(
        "| towers | tiers | served path, wall / CPU | growth-only companion, wall "
        "| earlier ensemble, wall | old / new (wall) | blighted towers day 14 |"
    )
    print("|---|---|---|---|---|---|---|")
    for towers in args.towers:
        m = measure(towers, args.runs)
        print(
            f"| {towers:,} | {int(m['hosts']):,} | {m['served_wall']:.1f} s / "
            f"{m['served_cpu']:.1f} s | {m['growth_wall']:.1f} s | {m['old_wall']:.1f} s "
            f"| {m['old_wall'] / m['served_wall']:.2f}x | {m['blighted_day14']:.0f} |",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
