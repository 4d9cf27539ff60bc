"""Ensembles of the grid model (:mod:`geo.forecast.grid_model`) over worker processes.

Runs are spread over :class:`concurrent.futures.ProcessPoolExecutor` workers (spawn);
run ``r`` uses ``SeedSequence(seed).spawn(runs)[r]`` whatever the number of workers,
so an ensemble is reproducible by its seed.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.checks import check_finite_in
from geo.forecast.grid_model import (
    GridParams,
    GridSimulation,
    HostGrid,
    _check_days,
)

__all__ = ["GridEnsembleResult", "run_grid_ensemble"]

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class GridEnsembleResult:
    """Summary of an ensemble of grid runs.

    Attributes
    ----------
    probability : numpy.ndarray of float32, shape (days + 1, H, W)
        Fraction of runs in which the cell's infected fraction exceeds ``threshold``.
    mean_infected : numpy.ndarray of float64, shape (H, W)
        Mean infected hosts per cell on the last day.
    infected_total : numpy.ndarray of int64, shape (runs, days + 1)
        Infected hosts over the grid, per run and day.
    infected_total_mean, infected_total_p05, infected_total_p95 : shape (days + 1,)
    threshold : float
    runs, days : int
    """

    probability: Float32Array
    mean_infected: FloatArray
    infected_total: IntArray
    infected_total_mean: FloatArray
    infected_total_p05: FloatArray
    infected_total_p95: FloatArray
    threshold: float
    runs: int
    days: int


_Partial = tuple[npt.NDArray[np.uint16], FloatArray, IntArray]


def _ensemble_batch(
    grid: HostGrid,
    params: GridParams,
    days: int,
    seeds: Sequence[np.random.SeedSequence],
    threshold: float,
) -> _Partial:
    """Runs of one batch: blighted-cell counts per day, final infected sum, totals."""
    cells = grid.shape[0] * grid.shape[1]
    # Infections never heal, so a cell stays blighted from the first day it is: count
    # first days (touching only the cells that changed), cumulate over days at the end.
    first_day = np.zeros((days + 1, cells), dtype=np.uint16)
    final = np.zeros(cells, dtype=np.float64)
    totals = np.zeros((len(seeds), days + 1), dtype=np.int64)
    # infected > threshold * total  <=>  infected > floor(threshold * total), integers.
    limit = np.floor(threshold * grid.total_hosts.ravel()).astype(np.int32)
    for r, seq in enumerate(seeds):
        sim = GridSimulation(grid, params, np.random.default_rng(seq))
        blighted = np.zeros(cells, dtype=np.bool_)
        for d in range(days + 1):
            if d:
                sim.step()
            if threshold == 0.0:
                first_day[d, sim.new_sources] += 1
            else:
                touched = sim.changed
                fresh = touched[(sim.infected[touched] > limit[touched]) & ~blighted[touched]]
                blighted[fresh] = True
                first_day[d, fresh] += 1
            totals[r, d] = sim.infected_total
        final += sim.infected
    for d in range(1, days + 1):  # blighted on day d: first blighted on day <= d
        first_day[d] += first_day[d - 1]
    return first_day, final, totals


def run_grid_ensemble(
    grid: HostGrid,
    params: GridParams,
    days: int,
    runs: int,
    seed: int,
    *,
    threshold: float = 0.0,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> GridEnsembleResult:
    """Run the grid model ``runs`` times in worker processes.

    Parameters
    ----------
    grid, params, days
        As for :func:`run_grid`.
    runs : int
        Ensemble size, in [1, 65535].
    seed : int
        Root seed; run ``r`` uses ``SeedSequence(seed).spawn(runs)[r]``, so the result
        does not depend on ``workers``.
    threshold : float
        A cell counts as blighted when ``infected / total > threshold``, in [0, 1).
    workers : int, optional
        Worker processes (default: the CPU count); 1 runs in this process.
    progress : callable(done, total), optional
        Called as batches of runs finish.
    executor : concurrent.futures.Executor, optional
        Use this pool instead of starting one (``workers`` then sets the batching).

    Raises
    ------
    InvalidParameter
        (``days``, ``runs``, ``threshold``, ``workers``).
    """
    _check_days(days)
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= 65535:
        raise InvalidParameter("must be an integer within [1, 65535]", "runs")
    check_finite_in(threshold, "threshold", 0.0, 1.0)
    if threshold >= 1.0:
        raise InvalidParameter("must be < 1", "threshold")
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InvalidParameter("must be an integer >= 1", "workers")
    seqs = np.random.SeedSequence(seed).spawn(runs)
    n_batches = min(runs, 1 if n_workers == 1 and executor is None else 4 * n_workers)
    bounds = np.linspace(0, runs, n_batches + 1).astype(int)
    batches = [seqs[a:b] for a, b in itertools.pairwise(bounds)]
    parts = _run_batches(grid, params, days, batches, threshold, n_workers, executor, progress)
    return _summarise(parts, days, runs, threshold, grid.shape)


def _run_batches(
    grid: HostGrid,
    params: GridParams,
    days: int,
    batches: list[list[np.random.SeedSequence]],
    threshold: float,
    n_workers: int,
    executor: Executor | None,
    progress: Callable[[int, int], None] | None,
) -> list[_Partial]:
    runs = sum(len(b) for b in batches)
    done = 0
    if executor is None and n_workers == 1:
        parts = []
        for batch in batches:
            parts.append(_ensemble_batch(grid, params, days, batch, threshold))
            done += len(batch)
            if progress is not None:
                progress(done, runs)
        return parts
    pool = executor or ProcessPoolExecutor(n_workers, multiprocessing.get_context("spawn"))
    try:
        futures = [
            pool.submit(_ensemble_batch, grid, params, days, batch, threshold) for batch in batches
        ]
        for fut, batch in zip(futures, batches, strict=True):
            fut.result()
            done += len(batch)
            if progress is not None:
                progress(done, runs)
        return [f.result() for f in futures]
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)


def _summarise(
    parts: list[_Partial], days: int, runs: int, threshold: float, shape: tuple[int, int]
) -> GridEnsembleResult:
    above = np.zeros((days + 1, shape[0] * shape[1]), dtype=np.int32)  # runs <= 65535
    final = np.zeros(shape[0] * shape[1], dtype=np.float64)
    for a, f, _ in parts:
        above += a
        final += f
    totals = np.concatenate([t for _, _, t in parts], axis=0)
    band = np.quantile(totals, [0.05, 0.95], axis=0)
    probability = above.astype(np.float32)
    probability /= np.float32(runs)
    return GridEnsembleResult(
        probability=probability.reshape(days + 1, *shape),
        mean_infected=(final / runs).reshape(shape),
        infected_total=totals,
        infected_total_mean=totals.mean(axis=0),
        infected_total_p05=np.asarray(band[0], dtype=np.float64),
        infected_total_p95=np.asarray(band[1], dtype=np.float64),
        threshold=float(threshold),
        runs=runs,
        days=days,
    )
