"""The served forecast on outside worlds, per horizon, beside persistence.

Each world comes from the second outbreak simulator (``tests/worlds/simulator.py``:
power-law or gravity kernels, Gompertz or linear growth, turning wind, biased and
lagging sensors, missing days, towers of different heights), which shares no code with
``geo/demo`` or the model. Its 16 days of reports go into a fresh store and the
forecast (14 days, ``--runs`` runs, threshold 0.5) is computed by the service functions
a ``POST /forecasts`` job runs (``tests/worlds/harness.py``), with the service's default
calibration budget unless ``--small``. Scored on the world's true towers:

- Brier skill score against persistence (per world, and pooled over worlds);
- reliability pooled over worlds (ten bins, the largest gap over bins with at least
  ``--min-count`` forecasts);
- CRPS of the blighted-tower count, beside persistence's (the persisted count as a
  point forecast, whose CRPS is its absolute error);
- coverage of the 5-95 % band of the count.

Goals (issue 10): skill > 0 at every horizon on >= 90 % of worlds; pooled skill at
day 7 >= +0.2; the 90 % band covers the truth in 80-95 % of worlds; pooled reliability
within 0.10 per bin.

    .venv/bin/python bench/bench_forecast_worlds.py [--worlds 30] [--first 0] [--runs 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.forecast.skill import reliability
from tests.worlds.harness import HORIZONS, WorldScore, forecast_world
from tests.worlds.simulator import make_world

SMALL = {
    "forecast_calibration_simulations": 60,
    "forecast_skill_runs": 30,
    "forecast_skill_horizons": (1, 3, 7),
}


def _row(h: int, scores: list[WorldScore], min_count: int) -> str:
    skills = [s.skill(h) for s in scores]
    defined = [v for v in skills if v is not None]
    positive = sum(v > 0 for v in defined)
    pooled = 1.0 - sum(s.brier[h] for s in scores) / sum(s.brier_persistence[h] for s in scores)
    p = np.concatenate([s.probability[h] for s in scores])
    o = np.concatenate([s.outcome[h] for s in scores])
    rel = reliability(p, o, min_count=min_count)
    gap = "n/a" if rel.max_gap is None else f"{rel.max_gap:.3f}"
    bins = int(np.sum(rel.count >= min_count))
    crps = np.mean([s.crps[h] for s in scores])
    persisted = np.mean([s.persistence_count_error[h] for s in scores])
    cover = np.mean([s.covered[h] for s in scores])
    return (
        f"| {h} | {positive}/{len(defined)} ({positive / max(len(defined), 1):.0%}) "
        f"| {pooled:+.3f} | {gap} ({bins} bins) | {crps:.2f} | {persisted:.2f} "
        f"| {cover:.0%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=30)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--min-count", type=int, default=20)
    parser.add_argument("--small", action="store_true", help="the tests' small budget")
    args = parser.parse_args()
    scores: list[WorldScore] = []
    t0 = time.perf_counter()
    for seed in range(args.first, args.first + args.worlds):
        t = time.perf_counter()
        world = make_world(seed)
        score = forecast_world(world, runs=args.runs, settings=SMALL if args.small else None)
        scores.append(score)
        skills = " ".join(
            f"d{h} {'n/a' if score.skill(h) is None else f'{score.skill(h):+.2f}'}"
            for h in HORIZONS
        )
        served = ",".join(d["serves"][0] for d in score.served if d["day"] in HORIZONS)
        print(
            f"world {seed:3d} {world.description['kernel']:7s} {world.description['growth']:8s}"
            f" towers {len(world.towers):2d} blighted d0 {int(world.tower_truth(15, 0.5).sum()):2d}"
            f" d14 {score.count[14]:2d} | BSS {skills} | served {served}"
            f" | {time.perf_counter() - t:.0f} s",
            flush=True,
        )
    print(f"\n{len(scores)} worlds in {time.perf_counter() - t0:.0f} s, {args.runs} runs each\n")
    print(
        "| horizon (days) | skill > 0 | pooled BSS | reliability max gap | CRPS count "
        "| CRPS persistence | 90 % band covers |"
    )
    print("|---|---|---|---|---|---|---|")
    for h in HORIZONS:
        print(_row(h, scores, args.min_count))
    print("\nPooled reliability per bin (mean forecast / observed frequency / count):")
    for h in HORIZONS:
        p = np.concatenate([s.probability[h] for s in scores])
        o = np.concatenate([s.outcome[h] for s in scores])
        rel = reliability(p, o, min_count=args.min_count)
        cells = [
            f"{m:.2f}/{f:.2f}/{int(c)}"
            for m, f, c in zip(rel.mean_forecast, rel.observed_frequency, rel.count, strict=True)
            if c > 0
        ]
        print(f"day {h}: " + "  ".join(cells))


if __name__ == "__main__":
    main()
