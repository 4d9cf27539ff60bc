"""Which forecast to serve at a horizon: the spread model, a simpler one, or a blend.

Three candidates are scored on the same hindcast pairs (:class:`HorizonPairs`):

* ``spread``: the calibrated spread model (growth and dispersal);
* ``growth``: the same runs without dispersal (``reproductive_rate = 0``): every tier
  grows (or not) from its own start, nothing spreads;
* ``persistence``: the state on the issue day, thresholded (0 or 1).

:func:`choose_blend` takes the mixture ``w_s p_spread + w_g p_growth + w_p p_persist``
with the weights on a grid of ``step`` over the simplex that has the lowest Brier
score on the pairs; ties go to the larger spread weight, then the larger growth
weight (the served model is the spread model unless something simpler is better on
the data). A mixture of ensembles is an ensemble: a share ``w_s`` of the served runs
are spread runs, ``w_g`` growth-only runs and ``w_p`` the persisted state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.runs import RunsSummary
from geo.forecast.skill import brier_score

__all__ = [
    "CANDIDATES",
    "SPREAD_ONLY",
    "Blend",
    "HorizonPairs",
    "choose_blend",
    "mix_counts",
    "serve_mixture",
    "weights_by_day",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CANDIDATES = ("spread", "growth", "persistence")


@dataclass(frozen=True, eq=False)
class HorizonPairs:
    """Forecast/outcome pairs of one horizon, pooled over issue days.

    Attributes
    ----------
    horizon_days : int
    spread, growth, persistence : numpy.ndarray of float
        The candidates' probabilities, one per verified tier and issue day.
    outcome : numpy.ndarray of bool
    issues : int
        Number of issue days pooled.
    """

    horizon_days: int
    spread: FloatArray
    growth: FloatArray
    persistence: FloatArray
    outcome: BoolArray
    issues: int

    @property
    def n(self) -> int:
        """Number of pairs."""
        return int(self.outcome.size)

    def mix(self, weights: tuple[float, float, float]) -> FloatArray:
        """The mixture's probabilities for weights (spread, growth, persistence)."""
        ws, wg, wp = weights
        return np.asarray(
            ws * self.spread + wg * self.growth + wp * self.persistence, dtype=np.float64
        )


@dataclass(frozen=True)
class Blend:
    """The served mixture at one horizon and why.

    Attributes
    ----------
    weights : (float, float, float)
        Shares of the spread, growth-only and persistence forecasts.
    brier : dict of str to float
        Hindcast Brier score of each candidate alone and of the ``served`` mixture.
    reason : str
    """

    weights: tuple[float, float, float]
    brier: dict[str, float]
    reason: str

    @property
    def serves(self) -> str:
        """``"spread"``, ``"growth"``, ``"persistence"`` or ``"blend"``."""
        pure = [name for name, w in zip(CANDIDATES, self.weights, strict=True) if w == 1.0]
        return pure[0] if pure else "blend"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "serves": self.serves,
            "weights": dict(zip(CANDIDATES, self.weights, strict=True)),
            "brier": self.brier,
            "reason": self.reason,
        }


SPREAD_ONLY = Blend((1.0, 0.0, 0.0), {}, "no hindcast: the spread model is served unverified")


def _grid(step: float) -> list[tuple[float, float, float]]:
    k = round(1.0 / step)
    out = [(i / k, j / k, (k - i - j) / k) for i in range(k, -1, -1) for j in range(k - i, -1, -1)]
    return out


def choose_blend(pairs: HorizonPairs, step: float = 0.25) -> Blend:
    """The weights of lowest hindcast Brier score (see the module docstring).

    Raises
    ------
    InvalidParameter
        When ``step`` does not divide 1 or there are no pairs.
    """
    if not (0.0 < step <= 1.0 and abs(round(1.0 / step) * step - 1.0) < 1e-9):
        raise InvalidParameter("must divide 1", "step")
    if pairs.n == 0:
        raise InvalidParameter("no forecast/outcome pair to score", "pairs")
    alone = {
        "spread": brier_score(pairs.spread, pairs.outcome),
        "growth": brier_score(pairs.growth, pairs.outcome),
        "persistence": brier_score(pairs.persistence, pairs.outcome),
    }
    best, best_score = (1.0, 0.0, 0.0), alone["spread"]
    for weights in _grid(step):
        score = brier_score(np.clip(pairs.mix(weights), 0.0, 1.0), pairs.outcome)
        if score < best_score - 1e-12:
            best, best_score = weights, score
    brier = {**alone, "served": best_score}
    ranked = ", ".join(f"{k} {v:.4f}" for k, v in sorted(alone.items(), key=lambda kv: kv[1]))
    if best == (1.0, 0.0, 0.0):
        reason = f"the spread model scores best alone ({ranked}; Brier, lower is better)"
    else:
        shares = ", ".join(
            f"{w:.0%} {name}" for name, w in zip(CANDIDATES, best, strict=True) if w > 0.0
        )
        reason = (
            f"serves {shares}: Brier {best_score:.4f} where the spread model alone has "
            f"{alone['spread']:.4f} ({ranked})"
        )
    reason += f"; {pairs.n} tier forecasts over {pairs.issues} issue days"
    return Blend(best, brier, reason)


def mix_counts(
    spread: npt.NDArray[np.int64],
    growth: npt.NDArray[np.int64],
    persisted: int,
    weights: tuple[float, float, float],
) -> npt.NDArray[np.int64]:
    """Blighted-tower counts of the mixture ensemble on one day.

    ``spread`` and ``growth`` hold one count per run (the same runs, common random
    numbers); the first ``round(w_s R)`` spread runs, the next ``round(w_g R)`` growth
    runs and the persisted count for the rest make ``R`` counts.
    """
    runs = spread.size
    n_s = round(weights[0] * runs)
    n_g = min(round(weights[1] * runs), runs - n_s)
    rest = runs - n_s - n_g
    return np.concatenate(
        (spread[:n_s], growth[n_s : n_s + n_g], np.full(rest, persisted, dtype=np.int64))
    )


def serve_mixture(
    spread: RunsSummary,
    growth: RunsSummary | None,
    persisted: BoolArray,
    persisted_towers: BoolArray,
    weights_by_day: Sequence[tuple[float, float, float]],
) -> RunsSummary:
    """The served ensemble: day ``d`` (``1 .. days``) mixes the candidates with
    ``weights_by_day[d - 1]``; day 0 is the spread ensemble's.

    Parameters
    ----------
    spread, growth : RunsSummary
        The same runs with and without dispersal (``growth`` may be None when no day
        gives it weight).
    persisted, persisted_towers : numpy.ndarray of bool
        Hosts and towers blighted on the issue day (the persistence forecast).
    weights_by_day : sequence of (w_spread, w_growth, w_persistence)

    Raises
    ------
    InvalidParameter
        When the weights do not match the days, or a growth weight has no ensemble.
    """
    days = spread.probability.shape[0] - 1
    if len(weights_by_day) != days:
        raise InvalidParameter(f"must hold {days} weights", "weights_by_day")
    prob = spread.probability.copy()
    towers = spread.tower_probability.copy()
    counts = spread.towers_blighted.copy()
    persisted_count = int(persisted_towers.sum())
    for d, weights in enumerate(weights_by_day, start=1):
        ws, wg, wp = weights
        if wg > 0.0 and growth is None:
            raise InvalidParameter("a growth weight needs the growth-only runs", "growth")
        g = growth if growth is not None else spread
        prob[d] = ws * spread.probability[d] + wg * g.probability[d] + wp * persisted
        towers[d] = ws * spread.tower_probability[d] + wg * g.tower_probability[d]
        towers[d] += wp * persisted_towers
        counts[:, d] = mix_counts(
            spread.towers_blighted[:, d], g.towers_blighted[:, d], persisted_count, weights
        )
    return RunsSummary(np.clip(prob, 0.0, 1.0), np.clip(towers, 0.0, 1.0), counts)


def weights_by_day(
    by_horizon: dict[int, tuple[float, float, float]], days: int
) -> list[tuple[tuple[float, float, float], bool]]:
    """Weights for days ``1 .. days`` from the weights chosen at hindcast horizons.

    Between two verified horizons the weights are interpolated linearly (so the served
    forecast does not jump from one day to the next); before the shortest horizon they
    are its weights; past the longest they are its weights, and the day is marked not
    verified (False). Without any horizon, the spread model, not verified.
    """
    keys = sorted(by_horizon)
    out: list[tuple[tuple[float, float, float], bool]] = []
    for day in range(1, days + 1):
        if not keys:
            out.append((SPREAD_ONLY.weights, False))
        elif day <= keys[0]:
            out.append((by_horizon[keys[0]], True))
        elif day >= keys[-1]:
            out.append((by_horizon[keys[-1]], day == keys[-1]))
        else:
            hi = next(k for k in keys if k >= day)
            lo = max(k for k in keys if k < day)
            f = (day - lo) / (hi - lo)
            a, b = np.asarray(by_horizon[lo]), np.asarray(by_horizon[hi])
            w = (1.0 - f) * a + f * b
            out.append(((float(w[0]), float(w[1]), float(w[2])), True))
    return out
