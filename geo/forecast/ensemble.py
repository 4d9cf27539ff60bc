"""Ensembles of :mod:`geo.forecast.model` runs started from an uncertain field.

Unlike PoPS, which starts every run from the same observed infection, each run here
draws its starting intensities from the interpolated field's error: for host ``h``
with mean ``m_h`` and standard error ``s_h`` (both intensity units, [0, 1])::

    i_h(0) ~ TruncNormal(m_h, s_h; [0, 1])      (s_h > 0)
    i_h(0) = clip(m_h, 0, 1)                     (s_h = 0)

Run ``r`` takes its seeds from ``np.random.SeedSequence(seed).spawn(runs)[r]``, which
it spawns again into one sequence for the starting draw and one for the model, so
the ensemble is reproducible for a seed and runs are statistically independent.

Memory
------
Probabilities, means and blighted-tower counts are accumulated run by run (float64
sums over ``(days + 1, n)`` and ``(runs, days + 1)`` integers). Quantiles need the
distribution, so each run's trajectory is kept as float32, ``4 * runs * (days + 1) * n``
bytes. When that exceeds ``max_memory_bytes`` the quantiles are instead read from a
streaming histogram of ``quantile_bins`` equal bins over [0, 1] per host and day
(``2 * quantile_bins * (days + 1) * n`` bytes of uint16 counts; quantiles are then
exact to within one bin width, reported at bin centres).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import truncnorm

from geo.errors import InvalidParameter
from geo.forecast.model import (
    Hosts,
    SpreadParams,
    SpreadState,
    check_protection_by_day,
    run,
)

__all__ = ["QUANTILES", "EnsembleResult", "draw_initial", "ensemble"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

QUANTILES = (0.05, 0.5, 0.95)
"""Quantile levels reported for intensity and blighted-tower counts."""


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """Summary of an ensemble of spread runs.

    Attributes
    ----------
    probability : numpy.ndarray of float, shape (days + 1, n)
        Fraction of runs in which the host's intensity exceeds ``threshold``.
    mean_intensity : numpy.ndarray of float, shape (days + 1, n)
    intensity_quantiles : numpy.ndarray of float, shape (3, days + 1, n)
        5 %, 50 % and 95 % quantiles of intensity over runs.
    towers_blighted : numpy.ndarray of int, shape (runs, days + 1)
        Blighted towers (any tier above ``threshold``) per run and day.
    towers_blighted_mean : numpy.ndarray of float, shape (days + 1,)
    towers_blighted_p05, towers_blighted_p95 : numpy.ndarray of float, shape (days + 1,)
    threshold : float
    runs, days : int
    tower_ids : tuple of str
        From :attr:`Hosts.tower_ids`.
    host_tower_index, host_level : numpy.ndarray of int, shape (n,)
    exact_quantiles : bool
        False when the histogram fallback was used (see the module docstring).
    """

    probability: FloatArray
    mean_intensity: FloatArray
    intensity_quantiles: FloatArray
    towers_blighted: IntArray
    towers_blighted_mean: FloatArray
    towers_blighted_p05: FloatArray
    towers_blighted_p95: FloatArray
    threshold: float
    runs: int
    days: int
    tower_ids: tuple[str, ...]
    host_tower_index: IntArray
    host_level: IntArray
    exact_quantiles: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: daily blighted-tower series and final-day host values.

        Hosts are listed as ``{"tower_id", "level", "probability", "mean", "p05",
        "p50", "p95"}`` on the last day; all numbers are plain floats and ints.
        """
        last = self.days
        q = self.intensity_quantiles[:, last]
        hosts = [
            {
                "tower_id": self.tower_ids[int(t)],
                "level": int(lv),
                "probability": float(self.probability[last, h]),
                "mean": float(self.mean_intensity[last, h]),
                "p05": float(q[0, h]),
                "p50": float(q[1, h]),
                "p95": float(q[2, h]),
            }
            for h, (t, lv) in enumerate(zip(self.host_tower_index, self.host_level, strict=True))
        ]
        return {
            "runs": self.runs,
            "days": self.days,
            "threshold": self.threshold,
            "exact_quantiles": self.exact_quantiles,
            "towers_blighted": {
                "mean": [float(v) for v in self.towers_blighted_mean],
                "p05": [float(v) for v in self.towers_blighted_p05],
                "p95": [float(v) for v in self.towers_blighted_p95],
            },
            "hosts": hosts,
        }


def draw_initial(mean: FloatArray, se: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Starting intensities from the field's error (see the module docstring).

    Parameters
    ----------
    mean, se : numpy.ndarray of float, shape (n,)
        Field mean (clipped to [0, 1]) and standard error (>= 0), intensity units.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of float, shape (n,), within [0, 1]

    Notes
    -----
    A host with mean 0 and a positive standard error starts with a small positive
    intensity, i.e. infected: the field's error seeds infections wherever the
    interpolation cannot rule them out. Pass ``se = 0`` where blight is known absent.
    """
    mu = np.clip(mean, 0.0, 1.0)
    out = mu.copy()
    spread = se > 0.0
    if np.any(spread):
        m, s = mu[spread], se[spread]
        draws = truncnorm.rvs((0.0 - m) / s, (1.0 - m) / s, loc=m, scale=s, random_state=rng)
        out[spread] = np.asarray(draws, dtype=np.float64)
    return np.asarray(np.clip(out, 0.0, 1.0), dtype=np.float64)


class _Quantiles:
    """Exact (float32 stack) or histogram quantiles over runs, per day and host."""

    def __init__(self, runs: int, shape: tuple[int, int], max_bytes: int, bins: int) -> None:
        self.exact = 4 * runs * shape[0] * shape[1] <= max_bytes
        self.bins = bins
        self.count = 0
        if self.exact:
            self.stack = np.empty((runs, *shape), dtype=np.float32)
        else:
            self.hist = np.zeros((*shape, bins), dtype=np.uint16 if runs < 65536 else np.uint32)

    def add(self, traj: FloatArray) -> None:
        if self.exact:
            self.stack[self.count] = traj
        else:
            b = np.minimum((traj * self.bins).astype(np.int64), self.bins - 1)
            d, h = np.indices(traj.shape)
            np.add.at(self.hist, (d, h, b), 1)
        self.count += 1

    def result(self) -> FloatArray:
        levels = np.asarray(QUANTILES)
        if self.exact:
            return np.asarray(np.quantile(self.stack, levels, axis=0), dtype=np.float64)
        cum = np.cumsum(self.hist, axis=-1, dtype=np.int64)
        idx = np.stack([(cum < q * self.count).sum(axis=-1) for q in levels])
        return np.asarray((np.minimum(idx, self.bins - 1) + 0.5) / self.bins, dtype=np.float64)


def _check(
    hosts: Hosts, mean: FloatArray, se: FloatArray, days: int, runs: int, threshold: float
) -> None:
    if mean.shape != (hosts.n,) or not np.all(np.isfinite(mean)):
        raise InvalidParameter("must hold one finite value per host", "initial_intensity_mean")
    if se.shape != (hosts.n,) or not np.all(np.isfinite(se) & (se >= 0.0)):
        raise InvalidParameter("must hold one finite value >= 0 per host", "initial_intensity_se")
    if days < 0:
        raise InvalidParameter("must be >= 0", "days")
    if runs < 1:
        raise InvalidParameter("must be >= 1", "runs")
    if not (math.isfinite(threshold) and 0.0 <= threshold < 1.0):
        raise InvalidParameter("must be within [0, 1)", "threshold")


def ensemble(
    hosts: Hosts,
    initial_intensity_mean: npt.ArrayLike,
    initial_intensity_se: npt.ArrayLike,
    params: SpreadParams,
    days: int,
    runs: int,
    seed: int,
    threshold: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
    *,
    max_memory_bytes: int = 256 * 2**20,
    quantile_bins: int = 100,
    protection_by_day: npt.ArrayLike | None = None,
) -> EnsembleResult:
    """Run the spread model ``runs`` times from starts drawn from the field's error.

    Parameters
    ----------
    hosts : Hosts
    initial_intensity_mean, initial_intensity_se : array_like of float, shape (n,)
        Interpolated intensity and its standard error at each host.
    params : SpreadParams
    days : int
        Days to forecast (>= 0).
    runs : int
        Ensemble size (>= 1).
    seed : int
        Root seed; run ``r`` derives its seeds from ``SeedSequence(seed).spawn(runs)[r]``.
    threshold : float
        A host counts as blighted when its intensity is strictly above this, in [0, 1).
    progress : callable(done, total), optional
        Called after each run with the number of runs done and ``runs``.
    max_memory_bytes, quantile_bins : int
        Budget for the float32 trajectory stack and histogram resolution of the
        fallback (see the module docstring).
    protection_by_day : array_like of float, shape (days + 1, n), optional
        Day-dependent protection in [0, 1] (e.g. from
        :func:`geo.forecast.scenario.protection_schedule`): row ``d`` is the hosts'
        protection on day ``d``, replacing ``hosts.protection`` (see
        :func:`geo.forecast.model.run`). When None, ``hosts.protection`` applies
        every day.

    Returns
    -------
    EnsembleResult

    Raises
    ------
    InvalidParameter
        On mismatched arrays or out-of-range arguments.
    """
    mean = np.asarray(initial_intensity_mean, dtype=np.float64)
    se = np.asarray(initial_intensity_se, dtype=np.float64)
    _check(hosts, mean, se, days, runs, threshold)
    schedule = check_protection_by_day(protection_by_day, days, hosts.n)
    shape = (days + 1, hosts.n)
    above = np.zeros(shape, dtype=np.float64)
    total = np.zeros(shape, dtype=np.float64)
    quantiles = _Quantiles(runs, shape, max_memory_bytes, max(int(quantile_bins), 2))
    lay = hosts.layout
    towers_blighted = np.zeros((runs, days + 1), dtype=np.int64)
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
        init_seq, run_seq = child.spawn(2)
        start = SpreadState.initial(draw_initial(mean, se, np.random.default_rng(init_seq)))
        traj = run(hosts, start, params, days, run_seq, protection_by_day=schedule)
        hit = traj > threshold
        above += hit
        total += traj
        quantiles.add(traj)
        per_tower = np.zeros((days + 1, lay.towers.size), dtype=np.int64)
        np.add.at(per_tower.T, lay.pos, hit.T.astype(np.int64))
        towers_blighted[r] = (per_tower > 0).sum(axis=1)
        if progress is not None:
            progress(r + 1, runs)
    band = np.quantile(towers_blighted, [0.05, 0.95], axis=0)
    return EnsembleResult(
        probability=above / runs,
        mean_intensity=total / runs,
        intensity_quantiles=quantiles.result(),
        towers_blighted=towers_blighted,
        towers_blighted_mean=towers_blighted.mean(axis=0),
        towers_blighted_p05=np.asarray(band[0], dtype=np.float64),
        towers_blighted_p95=np.asarray(band[1], dtype=np.float64),
        threshold=float(threshold),
        runs=runs,
        days=days,
        tower_ids=hosts.tower_ids,
        host_tower_index=hosts.tower_index,
        host_level=hosts.level if hosts.level is not None else np.zeros(hosts.n, np.int64),
        exact_quantiles=quantiles.exact,
    )
