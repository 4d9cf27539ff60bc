"""Honest skill scores for probabilistic blight forecasts.

Inputs are forecast probabilities ``p`` in [0, 1] and observed binary outcomes
``o`` in {0, 1} (one value per tier and forecast time, any shape; arrays are
flattened). Every function validates its inputs and raises
:class:`~geo.errors.InvalidParameter` naming the offending argument.

The scores, for ``N`` forecast/outcome pairs:

* Brier score ``BS = (1/N) sum_i (p_i - o_i)^2`` (0 is perfect, 1 is worst).
* Brier skill score ``BSS = 1 - BS / BS_ref`` against a reference forecast,
  usually persistence (today's state as a 0/1 probability).
* Reliability: observed frequency against mean forecast per probability bin.
* ROC AUC by the Mann-Whitney rank statistic (ties get average ranks).
* Pontius & Millones (2011) quantity and allocation disagreement of the binary
  map ``p >= threshold`` against the observed map.
* Matthews correlation coefficient of the same binary map.

Pure numpy: no web framework, no scikit-learn at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter

__all__ = [
    "Disagreement",
    "ReliabilityCurve",
    "SkillReport",
    "brier_score",
    "brier_skill_score",
    "matthews_corrcoef",
    "pontius_disagreement",
    "reliability",
    "roc_auc",
    "skill_report",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- validation


def _as_array(values: npt.ArrayLike, field: str) -> npt.NDArray[np.generic]:
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise InvalidParameter("must be an array of numbers", field) from exc
    if arr.dtype.kind not in "biuf":
        raise InvalidParameter("must be an array of numbers", field)
    if arr.size == 0:
        raise InvalidParameter("must not be empty", field)
    return arr


def _probabilities(values: npt.ArrayLike, field: str) -> FloatArray:
    arr = _as_array(values, field).astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InvalidParameter("must not contain NaN or infinite values", field)
    if np.any(arr < 0.0) or np.any(arr > 1.0):
        raise InvalidParameter("probabilities must lie in [0, 1]", field)
    return arr.ravel()


def _binary(values: npt.ArrayLike, field: str) -> BoolArray:
    arr = _as_array(values, field)
    if arr.dtype.kind == "b":
        return arr.ravel().astype(np.bool_)
    as_float = arr.astype(np.float64)
    if np.any(np.isnan(as_float)):
        raise InvalidParameter("must not contain NaN values", field)
    if not np.all((as_float == 0.0) | (as_float == 1.0)):
        raise InvalidParameter("outcomes must be 0 or 1", field)
    return (as_float == 1.0).ravel()


def _same_shape(a: npt.ArrayLike, b: npt.ArrayLike, field: str) -> None:
    if np.shape(a) != np.shape(b):
        raise InvalidParameter("must have the same shape as the forecasts", field)


def _pair(p: npt.ArrayLike, o: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
    p_arr = _probabilities(p, "p")
    o_arr = _binary(o, "o")
    _same_shape(p, o, "o")
    return p_arr, o_arr


def _positive_int(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidParameter("must be a positive integer", field)
    return int(value)


# --------------------------------------------------------------------------- Brier


def brier_score(p: npt.ArrayLike, o: npt.ArrayLike) -> float:
    """Mean squared error of probability forecasts.

    ``BS = (1/N) sum_i (p_i - o_i)^2``, dimensionless in [0, 1]; 0 is perfect.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    o : array_like
        Observed outcomes, 0/1 or bool, same shape as ``p``.

    Returns
    -------
    float
        The Brier score.

    Raises
    ------
    InvalidParameter
        Empty input, mismatched shapes, NaN, probabilities outside [0, 1] or
        outcomes other than 0/1 (``field`` is ``"p"`` or ``"o"``).

    Examples
    --------
    >>> brier_score([0.0, 1.0, 0.5], [0, 1, 1])
    0.08333333333333333
    """
    p_arr, o_arr = _pair(p, o)
    return float(np.mean((p_arr - o_arr) ** 2))


def brier_skill_score(p: npt.ArrayLike, o: npt.ArrayLike, reference_p: npt.ArrayLike) -> float:
    """Brier skill score against a reference forecast (usually persistence).

    ``BSS = 1 - BS / BS_ref`` where ``BS_ref`` is the Brier score of
    ``reference_p`` on the same outcomes. 1 is perfect, 0 is no better than the
    reference, negative is worse. Persistence is passed in as probabilities,
    e.g. today's observed state as 0.0/1.0.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    o : array_like
        Observed outcomes, 0/1 or bool, same shape as ``p``.
    reference_p : array_like
        Reference forecast probabilities in [0, 1], same shape as ``p``.

    Returns
    -------
    float
        The Brier skill score, in (-inf, 1].

    Raises
    ------
    InvalidParameter
        On invalid inputs (as :func:`brier_score`; ``field`` ``"reference_p"``
        for the reference), and when the score is undefined because the
        reference is perfect (``BS_ref == 0``, e.g. nothing changed and
        persistence was exactly right): no forecast can beat it, so no honest
        number exists. ``field`` is ``"reference_p"``. :func:`skill_report`
        records this case as ``bss=None``.

    Examples
    --------
    >>> brier_skill_score([1.0, 0.0], [1, 0], [0.5, 0.5])
    1.0
    """
    bs = brier_score(p, o)
    ref = _probabilities(reference_p, "reference_p")
    _same_shape(p, reference_p, "reference_p")
    bs_ref = float(np.mean((ref - _binary(o, "o")) ** 2))
    if bs_ref == 0.0:
        raise InvalidParameter(
            "reference forecast is perfect (Brier score 0): skill score undefined", "reference_p"
        )
    return 1.0 - bs / bs_ref


# --------------------------------------------------------------------------- reliability


@dataclass(frozen=True, eq=False)
class ReliabilityCurve:
    """Observed frequency against mean forecast per probability bin.

    Bin ``k`` of ``n_bins`` equal-width bins covers ``[edges[k], edges[k+1])``;
    the last bin also holds ``p == 1``. Arrays are read-only.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
        Bin edges in [0, 1].
    mean_forecast : ndarray, shape (n_bins,)
        Mean forecast probability per bin ``(1/n_k) sum_{i in k} p_i``; NaN if empty.
    observed_frequency : ndarray, shape (n_bins,)
        Observed event frequency per bin ``(1/n_k) sum_{i in k} o_i``; NaN if empty.
    count : ndarray of int, shape (n_bins,)
        Number of forecasts ``n_k`` per bin.
    min_count : int
        Least count for a bin to enter :attr:`max_gap`.
    max_gap : float or None
        ``max_k |observed_frequency_k - mean_forecast_k|`` over bins with
        ``count >= min_count``; ``None`` when no bin has enough samples. A
        forecast is "reliable within 10 percentage points" when ``max_gap <= 0.1``.
    """

    edges: FloatArray
    mean_forecast: FloatArray
    observed_frequency: FloatArray
    count: npt.NDArray[np.int64]
    min_count: int
    max_gap: float | None


def _readonly(arr: npt.NDArray[np.generic]) -> None:
    arr.flags.writeable = False


def reliability(
    p: npt.ArrayLike, o: npt.ArrayLike, n_bins: int = 10, min_count: int = 20
) -> ReliabilityCurve:
    """Reliability (calibration) curve of probability forecasts.

    For each bin ``k`` the mean forecast and the observed frequency are compared;
    a calibrated forecast has ``observed_frequency_k ~= mean_forecast_k``.

    Parameters
    ----------
    p : array_like
        Forecast probabilities in [0, 1].
    o : array_like
        Observed outcomes, 0/1 or bool, same shape as ``p``.
    n_bins : int, default 10
        Number of equal-width bins on [0, 1].
    min_count : int, default 20
        Least number of forecasts in a bin for it to count towards ``max_gap``.

    Returns
    -------
    ReliabilityCurve

    Raises
    ------
    InvalidParameter
        On invalid ``p``/``o`` or non-positive ``n_bins``/``min_count``.
    """
    p_arr, o_arr = _pair(p, o)
    n_bins = _positive_int(n_bins, "n_bins")
    min_count = _positive_int(min_count, "min_count")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.minimum((p_arr * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(index, minlength=n_bins).astype(np.int64)
    sum_p = np.bincount(index, weights=p_arr, minlength=n_bins)
    sum_o = np.bincount(index, weights=o_arr.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_forecast = np.where(count > 0, sum_p / count, np.nan)
        observed = np.where(count > 0, sum_o / count, np.nan)
    enough = count >= min_count
    max_gap = float(np.max(np.abs(observed - mean_forecast)[enough])) if enough.any() else None
    for arr in (edges, mean_forecast, observed, count):
        _readonly(arr)
    return ReliabilityCurve(edges, mean_forecast, observed, count, min_count, max_gap)


# --------------------------------------------------------------------------- discrimination


def roc_auc(p: npt.ArrayLike, o: npt.ArrayLike) -> float:
    """Area under the ROC curve by the Mann-Whitney rank statistic.

    ``AUC = (R_1 - n_1 (n_1 + 1) / 2) / (n_1 n_0)`` where ``R_1`` is the sum of
    the ranks of the forecasts for observed events (tied forecasts share their
    average rank), ``n_1`` the number of events and ``n_0`` of non-events. It is
    the probability that a random event got a higher forecast than a random
    non-event, ties counting one half; equal to
    ``sklearn.metrics.roc_auc_score``. 1 is perfect, 0.5 no skill, 0 inverted.

    Raises
    ------
    InvalidParameter
        On invalid inputs, or when ``o`` holds only one class (AUC undefined;
        ``field`` is ``"o"``).
    """
    p_arr, o_arr = _pair(p, o)
    n1 = int(np.count_nonzero(o_arr))
    n0 = o_arr.size - n1
    if n1 == 0 or n0 == 0:
        raise InvalidParameter("needs both events and non-events: AUC undefined", "o")
    _, inverse, counts = np.unique(p_arr, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = average_rank[inverse.ravel()]
    rank_sum = float(np.sum(ranks[o_arr]))
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0)


# --------------------------------------------------------------------------- binary maps


@dataclass(frozen=True)
class Disagreement:
    """Pontius & Millones (2011) components of binary map disagreement, as shares of cells.

    Attributes
    ----------
    quantity : float
        ``|P - O|``: difference between predicted and observed positive shares.
    allocation : float
        ``2 min(FP, FN)``: disagreement from misplacing positives.
    total : float
        ``quantity + allocation = FP + FN = 1 - accuracy``.
    """

    quantity: float
    allocation: float
    total: float


def _confusion(predicted: npt.ArrayLike, observed: npt.ArrayLike) -> tuple[int, int, int, int]:
    """Return ``(tp, fp, fn, tn)`` counts."""
    pred = _binary(predicted, "predicted")
    obs = _binary(observed, "observed")
    _same_shape(predicted, observed, "observed")
    tp = int(np.count_nonzero(pred & obs))
    fp = int(np.count_nonzero(pred & ~obs))
    fn = int(np.count_nonzero(~pred & obs))
    return tp, fp, fn, pred.size - tp - fp - fn


def pontius_disagreement(predicted: npt.ArrayLike, observed: npt.ArrayLike) -> Disagreement:
    """Quantity and allocation disagreement of a binary map (Pontius & Millones 2011).

    With ``N`` cells, false-positive share ``FP = fp/N`` and false-negative share
    ``FN = fn/N``; predicted share ``P = (tp + fp)/N``, observed ``O = (tp + fn)/N``:

    * ``quantity = |P - O| = |FP - FN|``
    * ``allocation = 2 min(FP, FN)``
    * ``total = quantity + allocation = FP + FN = 1 - accuracy``

    Parameters
    ----------
    predicted, observed : array_like of bool (or 0/1)
        Binary maps of the same shape.

    Raises
    ------
    InvalidParameter
        Empty, mismatched or non-binary input (``field`` ``"predicted"`` or ``"observed"``).

    Examples
    --------
    >>> pontius_disagreement([1, 1, 0, 0], [1, 0, 1, 1])
    Disagreement(quantity=0.25, allocation=0.5, total=0.75)
    """
    tp, fp, fn, tn = _confusion(predicted, observed)
    n = tp + fp + fn + tn
    fp_share, fn_share = fp / n, fn / n
    quantity = abs(fp - fn) / n
    allocation = 2.0 * min(fp_share, fn_share)
    return Disagreement(quantity, allocation, (fp + fn) / n)


def matthews_corrcoef(predicted: npt.ArrayLike, observed: npt.ArrayLike) -> float:
    """Matthews correlation coefficient of a binary map.

    ``MCC = (tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn))``, in
    [-1, 1]. When the denominator is 0 (a map or the truth of a single class)
    it returns 0.0, as ``sklearn.metrics.matthews_corrcoef`` does.

    Raises
    ------
    InvalidParameter
        Empty, mismatched or non-binary input (``field`` ``"predicted"`` or ``"observed"``).
    """
    tp, fp, fn, tn = (float(c) for c in _confusion(predicted, observed))
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    if denominator == 0.0:
        return 0.0
    return (tp * tn - fp * fn) / denominator


# --------------------------------------------------------------------------- report


def _json_float(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class SkillReport:
    """Skill of one forecast horizon. See :func:`skill_report`.

    ``bss`` is ``None`` when persistence was perfect (``BS_ref == 0``), ``auc``
    when only one class was observed, ``reliability_max_gap`` when no
    reliability bin had enough samples.
    """

    horizon_days: int
    n: int
    brier: float
    brier_persistence: float
    bss: float | None
    auc: float | None
    reliability_max_gap: float | None
    quantity: float
    allocation: float
    mcc: float

    def to_dict(self) -> dict[str, int | float | None]:
        """Return a JSON-safe dict: plain ints and floats, ``None`` for undefined (never NaN)."""
        return {
            "horizon_days": self.horizon_days,
            "n": self.n,
            "brier": _json_float(self.brier),
            "brier_persistence": _json_float(self.brier_persistence),
            "bss": _json_float(self.bss),
            "auc": _json_float(self.auc),
            "reliability_max_gap": _json_float(self.reliability_max_gap),
            "quantity": _json_float(self.quantity),
            "allocation": _json_float(self.allocation),
            "mcc": _json_float(self.mcc),
        }


def skill_report(
    horizon_days: int,
    p: npt.ArrayLike,
    o: npt.ArrayLike,
    persistence_p: npt.ArrayLike,
    threshold: float = 0.5,
    min_count: int = 20,
) -> SkillReport:
    """All skill scores of one forecast horizon.

    The binary map for Pontius disagreement and MCC is ``p >= threshold``.
    Reliability uses 10 bins and ``min_count`` samples (:func:`reliability`).

    Parameters
    ----------
    horizon_days : int
        Lead time of the forecast in days (>= 0).
    p : array_like
        Forecast probabilities in [0, 1].
    o : array_like
        Observed outcomes, 0/1 or bool, same shape as ``p``.
    persistence_p : array_like
        Persistence forecast as probabilities (e.g. today's state, 0/1).
    threshold : float, default 0.5
        Probability at or above which a cell is mapped as blighted, in [0, 1].
    min_count : int, default 20
        Least number of forecasts in a reliability bin for it to enter
        ``reliability_max_gap``.

    Raises
    ------
    InvalidParameter
        On invalid inputs; ``field`` names the argument.
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 0:
        raise InvalidParameter("must be a non-negative integer number of days", "horizon_days")
    if not isinstance(threshold, int | float) or not 0.0 <= float(threshold) <= 1.0:
        raise InvalidParameter("must be a probability in [0, 1]", "threshold")
    p_arr, o_arr = _pair(p, o)
    ref = _probabilities(persistence_p, "persistence_p")
    _same_shape(p, persistence_p, "persistence_p")
    brier = float(np.mean((p_arr - o_arr) ** 2))
    brier_ref = float(np.mean((ref - o_arr) ** 2))
    bss = None if brier_ref == 0.0 else 1.0 - brier / brier_ref
    auc = roc_auc(p_arr, o_arr) if 0 < np.count_nonzero(o_arr) < o_arr.size else None
    predicted = p_arr >= threshold
    disagreement = pontius_disagreement(predicted, o_arr)
    return SkillReport(
        horizon_days=horizon_days,
        n=int(p_arr.size),
        brier=brier,
        brier_persistence=brier_ref,
        bss=bss,
        auc=auc,
        reliability_max_gap=reliability(p_arr, o_arr, min_count=min_count).max_gap,
        quantity=disagreement.quantity,
        allocation=disagreement.allocation,
        mcc=matthews_corrcoef(predicted, o_arr),
    )
