"""Inverse distance weighting over the ``k`` nearest samples.

The weight of a neighbour at distance ``d`` is ``sample_weight / d ** power``, so older
or less confident samples count less. A target at distance 0 from a sample takes that
sample's value (IDW is exact). Distances are in the scaled 3D coordinates of
:meth:`~geo.interpolate.samples.Samples.coords`.

IDW has no error model of its own. Given a variogram, :class:`IDWModel` returns the
*estimation variance* of its weights under that variogram (what kriging minimizes,
evaluated for IDW's weights instead), an honest prediction variance that is never
smaller than the kriging variance with the same neighbours; without one, the weighted
spread of the neighbours (a heuristic, not a standard error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from geo.errors import GeoError
from geo.interpolate.base import NeighbourhoodInterpolator
from geo.interpolate.kriging import measurement_error, pairwise_distances
from geo.interpolate.variogram import Variogram

__all__ = ["IDWModel", "IDWParams", "idw_estimate", "idw_estimation_variance", "idw_weights"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


@dataclass(frozen=True)
class IDWParams:
    """Parameters of inverse distance weighting.

    Attributes
    ----------
    k : int
        Number of nearest samples used for each target.
    power : float
        Exponent of the distance in the weights (2: inverse squared distance).
    """

    k: int = 12
    power: float = 2.0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise GeoError("must be at least 1", "k")
        if not (math.isfinite(self.power) and self.power > 0.0):
            raise GeoError("must be a positive finite number", "power")


def idw_weights(
    dist: FloatArray, idx: IndexArray, weights: FloatArray, power: float = 2.0
) -> FloatArray:
    """Normalized IDW weights of each target's neighbours, shape (m, k), rows sum to 1.

    A neighbour at distance 0 takes all the weight (shared with other coinciding ones).
    """
    with np.errstate(divide="ignore", over="ignore"):  # 0 -> exact; huge -> weight 0
        w = weights[idx] / (dist * dist if power == 2.0 else dist**power)
    exact = dist[:, 0] <= 0.0  # nearest first: a zero distance shows in column 0
    if exact.any():  # only the coinciding samples count; one alone gives its value exactly
        w_exact = np.where(dist[exact] <= 0.0, weights[idx[exact]], 0.0)
        w[exact] = w_exact / w_exact.max(axis=1, keepdims=True)
    wsum = w.sum(axis=1)
    underflow = ~(wsum > 0.0)  # only for absurd distances or powers: use the nearest
    if underflow.any():
        w[underflow] = 0.0
        w[underflow, 0] = 1.0
        wsum[underflow] = 1.0
    w /= wsum[:, None]
    return w


def idw_estimate(
    dist: FloatArray,
    idx: IndexArray,
    values: FloatArray,
    weights: FloatArray,
    power: float = 2.0,
) -> tuple[FloatArray, FloatArray]:
    """IDW estimates and spreads from neighbourhoods (vectorized over targets).

    The returned "variance" is the weighted variance of the neighbours' values around
    the estimate, ``sum(w * (v - estimate) ** 2) / sum(w)``: a heuristic measure of
    how much the neighbours disagree, not a kriging (prediction) variance. It is 0 at
    a sample location and where the neighbours agree.

    Parameters
    ----------
    dist, idx : ndarray, shape (m, k)
        Distances (metres) to and indices of each target's neighbours, nearest first.
    values, weights : ndarray, shape (n,)
        Sample values and weights in (0, 1].
    power : float
        Distance exponent.

    Returns
    -------
    estimate, variance : ndarray, shape (m,)
    """
    w = idw_weights(dist, idx, weights, power)
    v = values[idx]
    est = np.einsum("ij,ij->i", w, v)
    v -= est[:, None]
    v *= v
    var = np.einsum("ij,ij->i", w, v)
    return est, var


def idw_estimation_variance(
    coords: FloatArray,
    error_var: FloatArray,
    variogram: Variogram,
    dist: FloatArray,
    idx: IndexArray,
    w: FloatArray,
) -> FloatArray:
    """Variance of ``Z(x0) - sum(w_i Z_i)`` under ``variogram``, for weights summing to 1.

    ``2 sum w_i gamma(x_i, x0) - sum w_i w_j gamma(x_i, x_j) + sum w_i^2 error_i``:
    the ordinary kriging variance formula with IDW's weights instead of kriging's.
    """
    between = variogram(pairwise_distances(coords[idx]))
    var = 2.0 * np.einsum("ij,ij->i", w, variogram(dist))
    var -= np.einsum("ij,ijk,ik->i", w, between, w)
    var += np.einsum("ij,ij->i", w * w, error_var[idx])
    out: FloatArray = np.maximum(var, 0.0)
    return out


class IDWModel(NeighbourhoodInterpolator):
    """Inverse distance weighting on a cKDTree of the samples.

    Examples
    --------
    >>> model = IDWModel([[0.0, 0.0], [10.0, 0.0]], [1.0, 3.0], [1.0, 1.0], IDWParams(k=2))
    >>> est, var = model.predict([[5.0, 0.0], [10.0, 0.0]])
    >>> est.tolist(), var.tolist()
    ([2.0, 3.0], [1.0, 0.0])
    """

    name: ClassVar[str] = "idw"
    chunk_size: int = 65_536  # ~6 MB per (chunk, k) array: cache-friendly

    def __init__(
        self,
        coords: npt.ArrayLike,
        values: npt.ArrayLike,
        weights: npt.ArrayLike,
        params: IDWParams | None = None,
        variogram: Variogram | None = None,
    ) -> None:
        self.params = params or IDWParams()
        super().__init__(coords, values, weights, self.params.k)
        self.variogram = variogram
        if variogram is not None:
            self.chunk_size = 8_192  # (chunk, k, k) pair distances
            self.error_var = measurement_error(self.weights, variogram.nugget)
            self.has_kriging_variance = True  # an estimation variance under the variogram

    def estimate(
        self, targets: FloatArray, dist: FloatArray, idx: IndexArray
    ) -> tuple[FloatArray, FloatArray]:
        """See :func:`idw_estimate`; with a variogram, :func:`idw_estimation_variance`."""
        if self.variogram is None:
            return idw_estimate(dist, idx, self.values, self.weights, self.params.power)
        w = idw_weights(dist, idx, self.weights, self.params.power)
        est = np.einsum("ij,ij->i", w, self.values[idx])
        var = idw_estimation_variance(self.coords, self.error_var, self.variogram, dist, idx, w)
        return est, var

    def parameters(self) -> dict[str, Any]:
        """``k``, ``power`` (k as used: at most the number of samples), and the variogram
        of the error variance when there is one."""
        out: dict[str, Any] = {"k": self.k, "power": float(self.params.power)}
        if self.variogram is not None:
            out["std_error"] = "estimation variance of the IDW weights under the variogram"
            out["variogram"] = self.variogram.parameters()
        return out
