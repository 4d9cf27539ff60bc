"""Leave-one-out cross-validation of the neighbourhood interpolators.

Each sample is predicted without itself, by the method's own :meth:`loo`: for the
neighbourhood methods from its ``k`` nearest *other* samples (``k + 1`` are queried
and the sample itself dropped), for the global kriging in closed form. The scores compare
the predictions with the observed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from geo.interpolate.base import Interpolator

__all__ = ["CVScores", "cv_scores", "leave_one_out", "loo_predictions"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CVScores:
    """Cross-validation scores (errors are ``predicted - observed``).

    Attributes
    ----------
    rmse, mae, bias : float
        Root mean squared error, mean absolute error, mean error.
    msse : float or None
        Mean squared standardized error ``mean((z - z_hat)^2 / sigma^2)`` (about 1 when
        the kriging variance is well calibrated); None without a kriging variance.
    n : int
        Number of predictions scored.
    """

    rmse: float
    mae: float
    bias: float
    msse: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "rmse": self.rmse,
            "mae": self.mae,
            "bias": self.bias,
            "msse": self.msse,
            "n": self.n,
        }


def cv_scores(
    observed: npt.ArrayLike, predicted: npt.ArrayLike, variance: npt.ArrayLike | None = None
) -> CVScores:
    """Scores of predictions against observations.

    ``msse`` uses only predictions with a positive variance; it is None when
    ``variance`` is None or no variance is positive.
    """
    z = np.asarray(observed, dtype=np.float64)
    err = np.asarray(predicted, dtype=np.float64) - z
    msse: float | None = None
    if variance is not None:
        var = np.asarray(variance, dtype=np.float64)
        positive = var > 0.0
        if positive.any():
            msse = float(np.mean(err[positive] ** 2 / var[positive]))
    return CVScores(
        rmse=float(np.sqrt(np.mean(err**2))),
        mae=float(np.mean(np.abs(err))),
        bias=float(np.mean(err)),
        msse=msse,
        n=int(z.size),
    )


def loo_predictions(model: Interpolator) -> tuple[FloatArray, FloatArray]:
    """Leave-one-out estimates and variances of every sample of ``model``.

    Raises
    ------
    GeoError
        With fewer than 2 samples.
    """
    return model.loo()


def leave_one_out(model: Interpolator) -> CVScores:
    """Leave-one-out scores of ``model`` (MSSE only for a kriging variance).

    Raises
    ------
    GeoError
        With fewer than 2 samples.
    """
    est, var = loo_predictions(model)
    return cv_scores(model.values, est, var if model.has_kriging_variance else None)
