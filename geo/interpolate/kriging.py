"""Ordinary kriging with local neighbourhoods, vectorized over targets.

For each target, the ``k`` nearest samples (cKDTree) form an ordinary kriging system
in the semivariogram form used by PyKrige::

    [ -G + E   1 ] [ lambda ]   [ -g ]
    [  1^T     0 ] [  -mu   ] = [  1 ]

where ``G`` holds ``gamma`` between the neighbours (0 on the diagonal), ``g`` the
``gamma`` between target and neighbours, and ``E`` the measurement-error variances.
The estimate is ``lambda . z`` and the kriging variance ``sigma^2 = lambda . g + mu``.

Targets whose neighbourhoods contain the same samples share one matrix: on a grid,
neighbouring cells mostly do, so each distinct system is assembled and factorized
once and each target only costs one triangular solve (the compiled kernel of
:mod:`geo.interpolate._ok_kernel`, which solves the equivalent covariance form).
Large batches (grids) take the fused sweep of :mod:`geo.interpolate._ok_sweep`:
neighbour search, system reuse and solves in one cache-friendly pass, the same
answers. Batches of :attr:`KrigingModel.chunk_size` targets bound the memory.

This method is fast but not seam-free: where the set of nearest samples changes the
field jumps a little; :mod:`geo.interpolate.global_kriging` is what the map serves.

Measurement error: a sample of weight ``w`` (older, or less confident) gets
``nugget * min(1/w - 1, MAX_ERROR_FACTOR)`` added to its diagonal entry, so it is
trusted less than a fresh, confident one. With all weights 1 (or a zero nugget) this
is exact kriging, which honours the data like PyKrige's ``exact_values=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from geo.errors import GeoError, UnknownMethod
from geo.interpolate._ok_kernel import krige_neighbourhoods
from geo.interpolate._ok_sweep import krige_blocked
from geo.interpolate.base import BLOCKED_FROM, NeighbourhoodInterpolator
from geo.interpolate.variogram import MODELS, Variogram

__all__ = [
    "DEFAULT_MAX_PATCH",
    "DEFAULT_PATCH_SIZE",
    "MAX_ERROR_FACTOR",
    "KrigingModel",
    "KrigingParams",
    "measurement_error",
    "ordinary_kriging",
    "pairwise_distances",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

DEFAULT_MAX_PATCH = 600
"""Most samples solved together by :mod:`~geo.interpolate.global_kriging`."""

DEFAULT_PATCH_SIZE = 150
"""Samples per core of :mod:`~geo.interpolate.global_kriging` above ``max_patch``."""

MAX_ERROR_FACTOR = 10.0
"""Cap of the measurement-error variance, in nuggets (reached at a weight of 1/11)."""


@dataclass(frozen=True)
class KrigingParams:
    """Parameters of ordinary kriging.

    Attributes
    ----------
    model : str
        Variogram model (one of ``spherical``, ``exponential``, ``gaussian``) or
        ``"auto"`` for the best weighted fit.
    k : int
        Neighbourhood size (nearest samples per target).
    nugget : float or None
        Fixed nugget; fitted when None.
    n_lags : int
        Bins of the empirical variogram.
    transform : str
        ``"logit"`` (krige logits of intensities, see :mod:`~geo.interpolate.transform`),
        ``"none"``, or ``"auto"``: logit when every value is within [0, 1].
    logit_eps : float or None
        Values are clipped to [eps, 1 - eps] before the logit; None: the candidate of
        :data:`~geo.interpolate.transform.EPS_CANDIDATES` with the lowest
        leave-one-out RMSE (on the intensity scale).
    max_patch : int
        Seam-free kriging: most samples in one global system.
    patch_size : int
        Seam-free kriging with more samples: samples per blended patch's core.
    """

    model: str = "auto"
    k: int = 16
    nugget: float | None = None
    n_lags: int = 12
    transform: str = "auto"
    logit_eps: float | None = None
    max_patch: int = DEFAULT_MAX_PATCH
    patch_size: int = DEFAULT_PATCH_SIZE

    def __post_init__(self) -> None:
        if self.model != "auto" and self.model not in MODELS:
            raise UnknownMethod(f"unknown variogram model; use auto or one of {MODELS}", "model")
        if self.k < 2:
            raise GeoError("must be at least 2", "k")
        if self.n_lags < 3:
            raise GeoError("must be at least 3", "n_lags")
        if self.nugget is not None and not (np.isfinite(self.nugget) and self.nugget >= 0.0):
            raise GeoError("must be a finite number >= 0", "nugget")
        if self.transform not in ("auto", "logit", "none"):
            raise UnknownMethod("unknown transform; use auto, logit or none", "transform")
        eps = self.logit_eps
        if eps is not None and not (np.isfinite(eps) and 0.0 < eps < 0.5):
            raise GeoError("must be in (0, 0.5)", "logit_eps")
        if self.max_patch < 2:
            raise GeoError("must be at least 2", "max_patch")
        if self.patch_size < 2:
            raise GeoError("must be at least 2", "patch_size")


def measurement_error(weights: FloatArray, nugget: float) -> FloatArray:
    """Per-sample error variance ``nugget * min(1/w - 1, MAX_ERROR_FACTOR)``."""
    return nugget * np.minimum(1.0 / weights - 1.0, MAX_ERROR_FACTOR)


def ordinary_kriging(
    coords: FloatArray,
    values: FloatArray,
    error_var: FloatArray,
    variogram: Variogram,
    dist: FloatArray,
    idx: IndexArray,
) -> tuple[FloatArray, FloatArray]:
    """Ordinary kriging estimates and variances from given neighbourhoods.

    Parameters
    ----------
    coords : ndarray, shape (n, d)
        Sample coordinates (scaled metres).
    values, error_var : ndarray, shape (n,)
        Sample values and measurement-error variances (0 for exact kriging).
    variogram : Variogram
    dist, idx : ndarray, shape (m, j)
        Distances to and indices of each target's neighbours.

    Returns
    -------
    estimate, variance : ndarray, shape (m,)
        The variance is clipped at 0 (round-off); NaN for a neighbourhood whose
        system is singular even with a jitter (the caller falls back).
    """
    est, var, _ = krige_neighbourhoods(
        coords,
        values,
        error_var,
        variogram.model,
        variogram.psill,
        variogram.range_m,
        variogram.nugget,
        dist,
        idx,
    )
    return est, var


def pairwise_distances(points: FloatArray) -> FloatArray:
    """Distances within each neighbourhood, (u, j, j), from exact coordinate differences.

    One coordinate at a time: faster than a (u, j, j, d) difference array, and exact
    (unlike the Gram-matrix trick), so the diagonal is exactly 0.
    """
    sq = np.zeros(points.shape[:2] + points.shape[1:2])
    for axis in range(points.shape[2]):
        q = points[:, :, axis]
        diff = q[:, :, None] - q[:, None, :]
        diff *= diff
        sq += diff
    out: FloatArray = np.sqrt(sq, out=sq)
    return out


class KrigingModel(NeighbourhoodInterpolator):
    """Ordinary kriging on the ``k`` nearest samples of each target.

    Parameters
    ----------
    coords, values, weights
        As for :class:`~geo.interpolate.base.NeighbourhoodInterpolator`.
    variogram : Variogram
        In the same (scaled) distance units as ``coords``.
    k : int
        Neighbourhood size.
    """

    name: ClassVar[str] = "kriging-local"
    chunk_size: int = 65_536
    has_kriging_variance: bool = True

    def __init__(
        self,
        coords: npt.ArrayLike,
        values: npt.ArrayLike,
        weights: npt.ArrayLike,
        variogram: Variogram,
        k: int = 16,
    ) -> None:
        super().__init__(coords, values, weights, k)
        self.variogram = variogram
        self.error_var = measurement_error(self.weights, variogram.nugget)

    def predict_batch(self, batch: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Large batches (grids) in one compiled sweep (:mod:`geo.interpolate._ok_sweep`).

        The same answers as :meth:`estimate` on the batch's ``k`` nearest samples.
        """
        if len(batch) < BLOCKED_FROM:
            return super().predict_batch(batch)
        v = self.variogram
        est, var, _ = krige_blocked(
            self.tree,
            self.coords,
            self.values,
            self.error_var,
            v.model,
            v.psill,
            v.range_m,
            v.nugget,
            batch,
            self.k,
        )
        return est, var

    def estimate(
        self, targets: FloatArray, dist: FloatArray, idx: IndexArray
    ) -> tuple[FloatArray, FloatArray]:
        """See :func:`ordinary_kriging`."""
        return ordinary_kriging(self.coords, self.values, self.error_var, self.variogram, dist, idx)

    def parameters(self) -> dict[str, Any]:
        """Variogram parameters and ``k`` (as used: at most the number of samples)."""
        return {**self.variogram.parameters(), "k": self.k}
