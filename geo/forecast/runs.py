"""Ensembles whose runs each draw their start, their parameters and their observation.

Three sources of uncertainty reach every run ``r`` of :func:`posterior_runs`:

* **parameters**: ``draw_params(rng)`` (e.g. a particle of the calibrated posterior with
  a growth rate drawn around its measured value);
* **process noise**: inside the model, through the parameters drawn (e.g.
  ``growth_sd_per_day``, a host's daily growth rate varying around the mean);
* **starting state and observation error**: ``draw_start(rng)`` draws the unobserved
  truth on day 0 from what was reported, and a forecast day is seen the way it will be
  reported: ``y = i + observation_sd z``, ``z ~ N(0, 1)``, before the threshold.

A host is blighted in a run when its (observed) intensity is strictly above the
threshold; a tower is blighted when *any* of its tiers is, and a tower's probability is
the fraction of runs in which it is (not the largest of its tiers' probabilities,
which is only a lower bound of it).

Run ``r`` takes ``SeedSequence(seed).spawn(runs)[r]``, spawned into the parameter draw,
the start, the model and the observation; two calls with the same seed share every
random number up to the model's own draws (common random numbers for scenarios).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts, SpreadParams, SpreadState, run

__all__ = ["RunsSummary", "posterior_runs", "tower_hits"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ParamDraw = Callable[[np.random.Generator], SpreadParams]
StartDraw = Callable[[np.random.Generator], SpreadState]


@dataclass(frozen=True, eq=False)
class RunsSummary:
    """What a forecast needs from an ensemble, accumulated run by run.

    Attributes
    ----------
    probability : numpy.ndarray, shape (days + 1, n)
        Fraction of runs with the host (as observed) above the threshold.
    tower_probability : numpy.ndarray, shape (days + 1, len(hosts.tower_ids))
        Fraction of runs with any tier of the tower above the threshold (0 for towers
        without tiers).
    towers_blighted : numpy.ndarray of int, shape (runs, days + 1)
        Towers with any tier above the threshold, per run and day.
    """

    probability: FloatArray
    tower_probability: FloatArray
    towers_blighted: IntArray

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.towers_blighted.shape[0])


def tower_hits(hosts: Hosts, hit: BoolArray) -> BoolArray:
    """(days, len(tower_ids)) whether any tier of each tower is True in ``hit`` (days, n)."""
    per_tower = np.zeros((hit.shape[0], len(hosts.tower_ids)), dtype=np.int64)
    np.add.at(per_tower.T, hosts.tower_index, hit.T.astype(np.int64))
    return np.asarray(per_tower > 0, dtype=np.bool_)


def posterior_runs(
    hosts: Hosts,
    draw_start: StartDraw,
    draw_params: ParamDraw,
    days: int,
    runs: int,
    seed: int,
    threshold: float,
    *,
    observation_sd: float = 0.0,
    protection_by_day: FloatArray | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunsSummary:
    """``runs`` model runs of ``days`` days (see the module docstring).

    Parameters
    ----------
    hosts : Hosts
    draw_start : callable(rng) -> SpreadState
        The starting state of a run.
    draw_params : callable(rng) -> SpreadParams
        The parameters of a run.
    days, runs, seed : int
    threshold : float
        Intensity above which a tier is blighted, in [0, 1).
    observation_sd : float
        Standard deviation of the observation error added before the threshold
        (intensity units, >= 0); day 0 is the drawn start, without it.
    protection_by_day : numpy.ndarray, shape (days + 1, n), optional
        Passed to :func:`geo.forecast.model.run`.
    progress : callable(fraction), optional
        Called after each run; may raise to stop.

    Raises
    ------
    InvalidParameter
        On a negative ``days``, ``runs < 1``, a threshold outside [0, 1) or a negative
        ``observation_sd``.
    """
    if days < 0:
        raise InvalidParameter("must be >= 0", "days")
    if runs < 1:
        raise InvalidParameter("must be >= 1", "runs")
    if not 0.0 <= threshold < 1.0:
        raise InvalidParameter("must be within [0, 1)", "threshold")
    if not (np.isfinite(observation_sd) and observation_sd >= 0.0):
        raise InvalidParameter("must be finite and >= 0", "observation_sd")
    above = np.zeros((days + 1, hosts.n))
    tower_above = np.zeros((days + 1, len(hosts.tower_ids)))
    blighted = np.zeros((runs, days + 1), dtype=np.int64)
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
        param_seq, start_seq, run_seq, obs_seq = child.spawn(4)
        params = draw_params(np.random.default_rng(param_seq))
        start = draw_start(np.random.default_rng(start_seq))
        traj = run(hosts, start, params, days, run_seq, protection_by_day=protection_by_day)
        if observation_sd > 0.0:
            noise = np.random.default_rng(obs_seq).standard_normal(traj[1:].shape)
            traj[1:] += observation_sd * noise
        hit = traj > threshold
        towers = tower_hits(hosts, hit)
        above += hit
        tower_above += towers
        blighted[r] = towers.sum(axis=1)
        if progress is not None:
            progress((r + 1) / runs)
    return RunsSummary(above / runs, tower_above / runs, blighted)
