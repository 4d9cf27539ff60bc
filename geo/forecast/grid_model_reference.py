"""A straightforward per-spore Python loop of the grid model (tests and benchmarks only).

The same model as :mod:`geo.forecast.grid_model`, written the way PoPS' C++ core runs
it: for every infected cell a Poisson number of spores, then for each spore a distance,
a bearing, a landing cell and PoPS' sequential establishment rule (the spore passes
the environment, picks one of the cell's hosts at random and infects it if it is still
susceptible, so the cell's susceptible count drops at once). Per-spore draws use
:class:`random.Random` (the fastest scalar generator in pure Python); the per-cell
Poisson counts use numpy. It is slow on purpose: it is the baseline the vectorised
model is measured against, and its statistical twin in the tests.
"""

from __future__ import annotations

import math
import random

import numpy as np

from geo.forecast.grid_model import GridParams, GridRun, HostGrid

__all__ = ["run_grid_reference"]


def _distance(kernel: str, scale: float, u: float) -> float:
    if kernel == "cauchy":
        return scale * math.tan(0.5 * math.pi * u)
    return -scale * math.log(1.0 - u)


def _spore_cell(
    params: GridParams,
    cell_size_m: float,
    row: int,
    col: int,
    rows: int,
    cols: int,
    draw: random.Random,
) -> int:
    """Flat landing cell of one spore from ``(row, col)``, or -1 when it leaves the grid."""
    if params.long_fraction > 0.0 and draw.random() < params.long_fraction:
        d = _distance(params.long_kernel, params.long_scale_m / cell_size_m, draw.random())
    else:
        d = _distance(params.short_kernel, params.short_scale_m / cell_size_m, draw.random())
    if params.wind_kappa > 0.0:
        theta = draw.vonmisesvariate(math.radians(params.wind_dir_deg), params.wind_kappa)
    else:
        theta = 2.0 * math.pi * draw.random()
    x = col + 0.5 + d * math.sin(theta)
    y = row + 0.5 - d * math.cos(theta)
    if not (0.0 <= x < cols and 0.0 <= y < rows):
        return -1
    return int(y) * cols + int(x)


def run_grid_reference(
    grid: HostGrid, params: GridParams, days: int, seed: int | np.random.SeedSequence
) -> GridRun:
    """Run the grid model one spore at a time (see the module docstring).

    Returns the same :class:`GridRun` as :func:`geo.forecast.grid_model.run_grid`
    (without the daily stack); not the same numbers for a seed, the same law.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    counts_rng = np.random.default_rng(seq)
    draw = random.Random(int(seq.generate_state(1, np.uint64)[0]))
    rows, cols = grid.shape
    total = grid.total_hosts.ravel().tolist()
    infected = grid.infected.ravel().tolist()
    susceptible = [n - i for n, i in zip(total, infected, strict=True)]
    latency = params.latency_days
    cohorts: list[dict[int, int]] = [{} for _ in range(latency)]
    infected_total = [sum(infected)]
    exposed_total = [0]
    spores: list[int] = []
    for day in range(days):
        sources = [c for c, i in enumerate(infected) if i > 0]
        lam = np.array([infected[c] for c in sources], dtype=np.float64)
        counts = counts_rng.poisson(lam * params.reproductive_rate * params.environment)
        new: dict[int, int] = {}
        for c, n_spores in zip(sources, counts.tolist(), strict=True):
            for _ in range(n_spores):
                target = _spore_cell(
                    params, grid.cell_size_m, c // cols, c % cols, rows, cols, draw
                )
                if target < 0 or susceptible[target] == 0:
                    continue
                if draw.random() < params.environment and (
                    draw.random() * total[target] < susceptible[target]
                ):
                    susceptible[target] -= 1
                    new[target] = new.get(target, 0) + 1
        if latency == 0:
            ripe = new
        else:
            ripe = cohorts[day % latency]
            cohorts[day % latency] = new
        for c, n in ripe.items():
            infected[c] += n
        spores.append(int(counts.sum()))
        infected_total.append(sum(infected))
        exposed_total.append(sum(sum(cohort.values()) for cohort in cohorts))
    shape = grid.shape
    return GridRun(
        infected_total=np.asarray(infected_total, dtype=np.int64),
        exposed_total=np.asarray(exposed_total, dtype=np.int64),
        spores=np.asarray(spores, dtype=np.int64),
        infected=np.asarray(infected, dtype=np.int32).reshape(shape),
        susceptible=np.asarray(susceptible, dtype=np.int32).reshape(shape),
        infected_daily=None,
    )
