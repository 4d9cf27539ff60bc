"""Speed of the grid spread model against PoPS' figures and a per-spore Python loop.

The reference configuration of issue 5: a 500 x 500-cell grid, 100 hosts per cell,
5 % of the cells starting with one infected host, SI, reproductive rate 0.1 per day,
Cauchy kernel of scale 2 cells, no wind, 30 daily steps, one stochastic run. PoPS core
(C++, g++ -O2) takes about 0.65 s for it and about 41 s at rate 0.5 on this kind of
2-core machine (the issue's figures: PoPS cannot be built here, and PyPI holds no
binding of it; ``pops`` on PyPI is a Django admin theme).

In the same run:

- the vectorised model at rates 0.1 and 0.5 (wall and CPU time; the machine is shared,
  CPU time is the steadier figure);
- a 200-run ensemble of the reference configuration on both cores;
- the per-spore Python loop (:mod:`geo.forecast.grid_model_reference`) and the
  vectorised model on a smaller configuration (``--loop-side`` cells a side, the
  reference otherwise), and the loop's time scaled to the reference configuration by
  its spore count (a lower bound: its per-day scans of all cells grow with the grid);
- the demo district's 200-run x 30-day ensemble of the tier model
  (:func:`geo.forecast.ensemble.ensemble`, one process), runs per second;
- how the cost grows with runs, grid size and the number of infected hosts.

    .venv/bin/python bench/bench_forecast_speed.py [--runs 200] [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.crs import LocalFrame
from geo.forecast.ensemble import ensemble
from geo.forecast.grid_ensemble import run_grid_ensemble
from geo.forecast.grid_model import GridParams, GridRun, HostGrid, run_grid
from geo.forecast.grid_model_reference import run_grid_reference
from geo.forecast.model import Hosts, SpreadParams

POPS_S = {0.1: 0.65, 0.5: 41.0}
DAYS = 30


def reference_grid(side: int = 500, fraction: float = 0.05, seed: int = 0) -> HostGrid:
    """``side`` x ``side`` cells of 100 hosts, one infected host in ``fraction`` of them."""
    return HostGrid.uniform(side, side, 100, fraction, np.random.default_rng(seed))


def reference_params(rate: float) -> GridParams:
    """Cauchy kernel of 2 cells (cells of 1 m), no wind, SI."""
    return GridParams(reproductive_rate=rate, short_kernel="cauchy", short_scale_m=2.0)


def timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall time, CPU time of this process and the result of ``call()``."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = call()
    return time.perf_counter() - w0, time.process_time() - c0, out


def single_runs(rate: float, repeat: int) -> tuple[float, float, GridRun]:
    """Median wall and CPU time of ``repeat`` runs (seeds 0, 1, ...) of the reference."""
    grid, params = reference_grid(), reference_params(rate)
    walls, cpus = [], []
    run: GridRun | None = None
    for seed in range(repeat):
        wall, cpu, run = timed(lambda s=seed: run_grid(grid, params, DAYS, s))
        walls.append(wall)
        cpus.append(cpu)
    assert run is not None
    print(
        f"rate {rate}: wall median {statistics.median(walls):.3f} s (min {min(walls):.3f}), "
        f"CPU median {statistics.median(cpus):.3f} s; {int(run.spores.sum()):,} spores, "
        f"{int(run.infected_total[0]):,} -> {int(run.infected_total[-1]):,} infected; "
        f"PoPS {POPS_S[rate]} s -> {POPS_S[rate] / statistics.median(walls):.1f}x (wall), "
        f"{POPS_S[rate] / statistics.median(cpus):.1f}x (CPU)"
    )
    return statistics.median(walls), statistics.median(cpus), run


def loop_baseline(side: int, ref: dict[float, tuple[int, float]]) -> None:
    """The per-spore loop and the vectorised model on a ``side`` x ``side`` grid."""
    grid, params = reference_grid(side), reference_params(0.1)
    w_loop, _, slow = timed(lambda: run_grid_reference(grid, params, DAYS, 0))
    w_vec = min(timed(lambda s=s: run_grid(grid, params, DAYS, s))[0] for s in range(5))
    per_spore = w_loop / max(int(slow.spores.sum()), 1)
    print(
        f"per-spore loop, {side} x {side} grid, rate 0.1: {w_loop:.2f} s for "
        f"{int(slow.spores.sum()):,} spores ({per_spore * 1e6:.2f} us/spore); vectorised "
        f"{w_vec:.4f} s -> {w_loop / w_vec:.0f}x"
    )
    for rate, (spores, wall) in ref.items():
        print(
            f"  scaled to the reference configuration at rate {rate} ({spores:,} spores): "
            f"{per_spore * spores:.1f} s, {per_spore * spores / wall:.0f}x the vectorised run"
        )


def grid_ensemble(runs: int, workers: int = 2) -> float:
    """Wall time of an ensemble of the reference; also the workers' CPU time."""
    grid, params = reference_grid(), reference_params(0.1)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, _, res = timed(lambda: run_grid_ensemble(grid, params, DAYS, runs, 1, workers=workers))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(
        f"ensemble of {runs} runs on {workers} workers: {wall:.2f} s wall "
        f"({runs / wall:.1f} runs/s), workers' CPU {cpu:.1f} s (incl. start-up imports); "
        f"infected on day {DAYS}: mean {res.infected_total_mean[-1]:,.0f}, 5-95 % "
        f"{res.infected_total_p05[-1]:,.0f}-{res.infected_total_p95[-1]:,.0f}"
    )
    return float(wall)


def demo_ensemble(runs: int) -> None:
    from geo.demo import demo_towers, history_truth_at, simulate_outbreak

    towers = demo_towers()
    end = datetime(2026, 6, 1, tzinfo=UTC)
    history = simulate_outbreak(towers, end=end, days=7)
    truth = history_truth_at(history, end)
    frame = LocalFrame.for_geometries([t.footprint_wgs84 for t in towers])
    hosts = Hosts.from_towers(towers, frame)
    keys = zip(hosts.tower_index.tolist(), hosts.level.tolist(), strict=True)
    mean = np.array([truth.get((hosts.tower_ids[t], lv), 0.0) for t, lv in keys])
    se = 0.1 * mean
    wall, _, res = timed(
        lambda: ensemble(hosts, mean, se, SpreadParams(), days=DAYS, runs=runs, seed=1)
    )
    print(
        f"demo district ({len(towers)} towers, {hosts.n} tiers), tier model, {runs} runs x "
        f"{DAYS} days, one process: {wall:.2f} s ({runs / wall:.1f} runs/s); blighted towers "
        f"on day {DAYS}: {res.towers_blighted_mean[-1]:.1f}"
    )


def scaling(quick: bool) -> None:
    print("\ncost growth, one run of 30 days (rate 0.1 unless said; wall / CPU seconds):")
    print("| case | cells | infected at start | spores | wall s | CPU s |")
    print("|---|---|---|---|---|---|")
    base = reference_params(0.1)
    windy = replace(base, wind_dir_deg=60.0, wind_kappa=2.0)
    sides = (250, 500) if quick else (250, 500, 1000)
    cases = [(f"grid {s} x {s}", s, 0.05, base) for s in sides]
    cases += [(f"{f:.0%} of cells infected", 500, f, base) for f in (0.01, 0.2)]
    cases += [("wind, kappa 2", 500, 0.05, windy)]
    cases += [("latency 3 days", 500, 0.05, replace(base, latency_days=3))]
    if not quick:
        cases += [("rate 0.5, wind, kappa 2", 500, 0.05, replace(windy, reproductive_rate=0.5))]
    for name, side, frac, params in cases:
        grid = reference_grid(side, frac)
        wall, cpu, run = timed(lambda g=grid, p=params: run_grid(g, p, DAYS, 0))
        print(
            f"| {name} | {side * side:,} | {int(run.infected_total[0]):,} | "
            f"{int(run.spores.sum()):,} | {wall:.3f} | {cpu:.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5, help="single runs at rate 0.1")
    parser.add_argument("--repeat-heavy", type=int, default=2, help="single runs at rate 0.5")
    parser.add_argument("--loop-side", type=int, default=250)
    parser.add_argument("--quick", action="store_true", help="skip rate 0.5 and 1000 x 1000")
    args = parser.parse_args()
    run_grid(reference_grid(50), reference_params(0.1), 2, 0)  # warm-up
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    print("reference: 500 x 500 cells, 100 hosts/cell, 5 % cells with one infected host, ")
    print("SI, Cauchy scale 2 cells, no wind, 30 days, one run")
    w01, _, run01 = single_runs(0.1, args.repeat)
    ref = {0.1: (int(run01.spores.sum()), w01)}
    if not args.quick:
        w05, _, run05 = single_runs(0.5, args.repeat_heavy)
        ref[0.5] = (int(run05.spores.sum()), w05)
    loop_baseline(args.loop_side, ref)
    wall = grid_ensemble(args.runs)
    for runs in (10, 50):
        grid_ensemble(runs)
    demo_ensemble(args.runs)
    scaling(args.quick)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    print("goals:")
    print(f"  rate 0.1 <= 0.22 s (3x PoPS): {w01:.3f} s -> {'met' if w01 <= 0.22 else 'NOT met'}")
    if not args.quick:
        print(f"  rate 0.5 <= 27 s (1.5x PoPS): {w05:.2f} s -> {'met' if w05 <= 27 else 'NOT met'}")
    print(
        f"  {args.runs}-run ensemble <= 30 s: {wall:.2f} s -> {'met' if wall <= 30 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
