"""Standing still in GPS noise: enter/leave events per minute over the demo district.

A grid of spots over the demo district's hull (``--step`` metres apart); at each, a
viewer subscribes (range 200 m, every layer, near range 60 m) and sends 300 fixes,
one per second (5 minutes), each the true spot plus normal noise of sigma = 2.5 m per
axis, reporting ``accuracy_m`` as a phone would (the 68 % radius, 1.51 sigma). The
overlays are the demo district's, built by the service's pipeline, and the runs go
through the hub the service runs (no sockets). Counted: overlays entering and
leaving after the snapshot, the most toggles of one overlay, delta bytes.

Three configurations in the same run, same spots and same noise:

* baseline: no hysteresis, no deadband, no smoothing (the behaviour before issue 13);
* hysteresis only (``ws_hysteresis_m`` 10 m; no deadband, no smoothing);
* the service's defaults: hysteresis, smoothing and an 8 m deadband.

Goal (issue 13): at most 2 events per minute at any spot.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_jitter.py [--step 50] [--seeds 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import shapely

from tests.service.stream.jitter import District, StandStill, demo_district, stand_still

CONFIGS: dict[str, dict[str, Any]] = {
    "baseline (no hysteresis)": {
        "hysteresis_m": 0.0,
        "move_deadband_m": 0.0,
        "move_smoothing": False,
    },
    "hysteresis only": {"move_deadband_m": 0.0, "move_smoothing": False},
    "defaults (hysteresis, smoothing, deadband)": {},
}


def grid_spots(district: District, step_m: float) -> list[tuple[float, float]]:
    """Lon/lat of grid points ``step_m`` apart inside the district's hull."""
    minx, miny, maxx, maxy = district.hull_local.bounds
    spots = []
    for x in np.arange(minx + step_m / 2.0, maxx, step_m):
        for y in np.arange(miny + step_m / 2.0, maxy, step_m):
            if district.hull_local.contains(shapely.Point(x, y)):
                lon, lat = district.frame_to_wgs84(float(x), float(y))
                spots.append((float(lon), float(lat)))
    return spots


def summary(runs: list[StandStill]) -> dict[str, float]:
    """Worst and typical figures over the spots."""
    per_min = np.array([r.events_per_min for r in runs])
    return {
        "max_per_min": float(per_min.max()),
        "p95_per_min": float(np.percentile(per_min, 95)),
        "mean_per_min": float(per_min.mean()),
        "spots_over_2": int((per_min > 2.0).sum()),
        "toggled_max": max(r.toggled_max for r in runs),
        "bytes_max": max(r.delta_bytes for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--step", type=float, default=50.0, help="metres between spots")
    parser.add_argument("--seeds", type=int, default=1, help="noise draws per spot")
    parser.add_argument("--sigma", type=float, default=2.5, help="noise per axis, metres")
    args = parser.parse_args()
    started = time.perf_counter()
    district = demo_district()
    spots = grid_spots(district, args.step)
    print(
        f"demo district: {len(district.overlays)} overlays, {len(spots)} spots "
        f"{args.step:g} m apart, {args.seeds} seed(s), sigma {args.sigma} m, 300 fixes at 1/s "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )
    columns = ["max events/min", "p95", "mean", "spots > 2/min", "most toggles", "max bytes"]
    print("| configuration | " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|")
    for name, options in CONFIGS.items():
        runs = [
            stand_still(district, spot, seed=seed * 100_000 + i, sigma_m=args.sigma, **options)
            for seed in range(args.seeds)
            for i, spot in enumerate(spots)
        ]
        s = summary(runs)
        print(
            f"| {name} | {s['max_per_min']:.1f} | {s['p95_per_min']:.1f} | "
            f"{s['mean_per_min']:.2f} | {s['spots_over_2']} of {len(runs)} | "
            f"{s['toggled_max']} | {s['bytes_max']:,} |"
        )


if __name__ == "__main__":
    main()
