"""Simulation-based calibration (SBC) of the ABC posterior (Talts et al. 2018).

If worlds are drawn from the prior, ``θ* ~ p(θ)``, simulated with the model, and the
calibration is run on each, the rank of ``θ*`` among the posterior's particles is
uniform on ``0 .. L`` exactly when the posterior is right on average. A posterior
that collapses (too narrow) piles the ranks at 0 and ``L``; one that is too wide piles
them in the middle; a biased one leans to one side.

:func:`sbc_ranks` draws the worlds (non-circular priors only: an angle has no rank)
and :func:`sbc_summary` tests the ranks: a chi-square test of uniformity over
``bins`` equal bins of the normalised rank, and the share of ranks in the outer bins
(``2 / bins`` expected).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from geo.errors import InvalidParameter
from geo.forecast.calibrate import DEFAULT_PRIORS, Prior, calibrate
from geo.forecast.model import Hosts, SpreadParams, SpreadState, run
from geo.forecast.observed import ObservedSeries

__all__ = ["sbc_ranks", "sbc_summary"]

FloatArray = npt.NDArray[np.float64]
_START = datetime(2000, 1, 1, tzinfo=UTC)


def sbc_ranks(
    hosts: Hosts,
    start: FloatArray,
    days: int,
    worlds: int,
    seed: int,
    *,
    base: SpreadParams | None = None,
    priors: Sequence[Prior] = DEFAULT_PRIORS,
    n_simulations: int = 100,
    accept_fraction: float = 0.1,
) -> tuple[FloatArray, int, tuple[str, ...]]:
    """Normalised ranks ``rank / L`` in [0, 1] of each world's true parameters.

    Parameters
    ----------
    hosts : Hosts
    start : numpy.ndarray, shape (n,)
        Day 0 of every world (intensities).
    days : int
        Days simulated and calibrated on (>= 1).
    worlds : int
        Worlds drawn from the prior (>= 2).
    seed : int
    base, priors, n_simulations, accept_fraction
        As :func:`~geo.forecast.calibrate.calibrate`; circular priors are left out.

    Returns
    -------
    (ranks, particles, names)
        ``ranks`` of shape (worlds, parameters); ``particles`` is ``L``.

    Raises
    ------
    InvalidParameter
        On ``days < 1``, ``worlds < 2`` or no non-circular prior.
    """
    if days < 1:
        raise InvalidParameter("must be >= 1", "days")
    if worlds < 2:
        raise InvalidParameter("must be >= 2", "worlds")
    ranked = tuple(p for p in priors if not p.circular)
    if not ranked:
        raise InvalidParameter("need a prior that is not circular", "priors")
    base = SpreadParams() if base is None else base
    ranks = np.empty((worlds, len(ranked)))
    particles = 0
    for w, child in enumerate(np.random.SeedSequence(seed).spawn(worlds)):
        draw_seq, sim_seq, cal_seq = child.spawn(3)
        rng = np.random.default_rng(draw_seq)
        truth: dict[str, Any] = {p.name: p.to_value(float(rng.uniform(*p.bounds))) for p in ranked}
        params = replace(base, **truth)
        series = ObservedSeries(
            run(hosts, SpreadState.initial(start), params, days, sim_seq), _START
        )
        post = calibrate(
            hosts,
            series,
            base=base,
            priors=ranked,
            n_simulations=n_simulations,
            accept_fraction=accept_fraction,
            seed=int(cal_seq.generate_state(1)[0]),
        )
        particles = post.samples.shape[0]
        for j, p in enumerate(ranked):
            ranks[w, j] = np.sum(post.samples[:, j] < truth[p.name]) / particles
    return ranks, particles, tuple(p.name for p in ranked)


def sbc_summary(ranks: FloatArray, bins: int = 4) -> dict[str, Any]:
    """Uniformity of normalised ranks (see the module docstring), per parameter column.

    Returns ``{"chi2_p": [...], "outer_share": [...], "expected_outer_share": 2/bins}``.

    Raises
    ------
    InvalidParameter
        When ``bins < 2`` or ``ranks`` is not 2-D within [0, 1].
    """
    if bins < 2:
        raise InvalidParameter("must be >= 2", "bins")
    if ranks.ndim != 2 or np.any((ranks < 0.0) | (ranks > 1.0)):
        raise InvalidParameter("must be a (worlds, parameters) array within [0, 1]", "ranks")
    k = np.minimum((ranks * bins).astype(np.int64), bins - 1)
    expected = ranks.shape[0] / bins
    p_values, outer = [], []
    for j in range(ranks.shape[1]):
        counts = np.bincount(k[:, j], minlength=bins)
        stat = float(np.sum((counts - expected) ** 2 / expected))
        p_values.append(float(chi2.sf(stat, bins - 1)))
        outer.append(float((counts[0] + counts[-1]) / ranks.shape[0]))
    return {"chi2_p": p_values, "outer_share": outer, "expected_outer_share": 2.0 / bins}
