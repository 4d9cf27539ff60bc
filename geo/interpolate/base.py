"""The shape shared by the interpolation methods: local k-nearest neighbourhoods.

Both methods (:class:`~geo.interpolate.idw.IDWModel`,
:class:`~geo.interpolate.kriging.KrigingModel`) estimate a target from its ``k``
nearest samples in the scaled 3D coordinates. The base class owns the tree, the
chunking and the prediction loop; a method only says how a batch of neighbourhoods
becomes estimates and variances (:meth:`NeighbourhoodInterpolator.estimate`), which is
also what leave-one-out cross-validation (:mod:`geo.interpolate.validate`) calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geo.errors import GeoError
from geo.interpolate._blocked_knn import knn_blocked
from geo.interpolate._neighbours import chunks, knn, knn_without_self

__all__ = ["BLOCKED_FROM", "Interpolator", "NeighbourhoodInterpolator"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

BLOCKED_FROM = 2048
"""Batches of at least this many targets use :func:`knn_blocked` (same neighbours)."""


class Interpolator(Protocol):
    """What :func:`~geo.interpolate.api.interpolate` needs of a method.

    ``values`` are the samples' values on the scale estimates are returned in;
    :meth:`loo` gives leave-one-out estimates and variances of every sample on that
    scale; ``has_kriging_variance`` says whether the variances are model-based
    prediction variances (honest standard errors).
    """

    @property
    def name(self) -> str: ...

    @property
    def has_kriging_variance(self) -> bool: ...

    @property
    def coords(self) -> FloatArray: ...

    @property
    def values(self) -> FloatArray: ...

    @property
    def weights(self) -> FloatArray: ...

    def __len__(self) -> int: ...

    def predict(self, targets: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...

    def loo(self) -> tuple[FloatArray, FloatArray]: ...

    def parameters(self) -> dict[str, Any]: ...


class NeighbourhoodInterpolator(ABC):
    """An interpolator that works on the ``k`` nearest samples of each target.

    Parameters
    ----------
    coords : array_like, shape (n, d)
        Sample coordinates (x, y and the scaled height), metres.
    values : array_like, shape (n,)
    weights : array_like, shape (n,)
        Sample weights in (0, 1].
    k : int
        Neighbourhood size, clipped to ``n``.

    Raises
    ------
    GeoError
        If the arrays are empty, of mismatched shapes or not finite, or ``k < 1``.
    """

    name: ClassVar[str]
    chunk_size: int = 100_000
    """Targets per batch: bounds the memory of one batch of neighbourhoods."""
    has_kriging_variance: bool = False
    """Whether :meth:`estimate`'s variance is a model-based prediction variance."""

    def __init__(
        self, coords: npt.ArrayLike, values: npt.ArrayLike, weights: npt.ArrayLike, k: int
    ) -> None:
        self.coords: FloatArray = np.ascontiguousarray(coords, dtype=np.float64)
        self.values: FloatArray = np.ascontiguousarray(values, dtype=np.float64)
        self.weights: FloatArray = np.ascontiguousarray(weights, dtype=np.float64)
        n = len(self.values)
        if self.coords.ndim != 2 or len(self.coords) != n or self.weights.shape != (n,) or n < 1:
            raise GeoError("need one or more samples with coordinates, values, weights", "samples")
        if not all(np.all(np.isfinite(a)) for a in (self.coords, self.values, self.weights)):
            raise GeoError("sample coordinates, values and weights must be finite", "samples")
        if k < 1:
            raise GeoError("must be at least 1", "k")
        self.k = min(int(k), n)
        self.tree = cKDTree(self.coords)

    def __len__(self) -> int:
        return len(self.values)

    def predict(self, targets: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Estimates and variances at ``targets`` (shape ``(m, d)``), in batches.

        Raises
        ------
        GeoError
            If the targets do not have the samples' dimension or are not finite.
        """
        pts = np.asarray(targets, dtype=np.float64)
        d = self.coords.shape[1]
        if pts.ndim != 2 or pts.shape[1] != d or not np.all(np.isfinite(pts)):
            raise GeoError(f"targets must be finite and of shape (m, {d})", "targets")
        est, var = np.empty(len(pts)), np.empty(len(pts))
        for rows in chunks(len(pts), self.chunk_size):
            est[rows], var[rows] = self.predict_batch(pts[rows])
        return est, var

    def predict_batch(self, batch: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Estimates and variances of one batch of (checked) targets.

        Finds each target's neighbours and hands them to :meth:`estimate`; a method
        with a faster fused path for large batches overrides this.
        """
        if len(batch) >= BLOCKED_FROM:  # clustered targets (grids): shared ball queries
            dist, idx = knn_blocked(self.tree, self.coords, batch, self.k)
        else:
            dist, idx = knn(self.tree, batch, self.k)
        return self.estimate(batch, dist, idx)

    def loo(self) -> tuple[FloatArray, FloatArray]:
        """Leave-one-out estimates and variances: each sample from its ``k`` nearest others.

        Raises
        ------
        GeoError
            With fewer than 2 samples.
        """
        n = len(self)
        if n < 2:
            raise GeoError("cross-validation needs at least 2 samples", "samples")
        est, var = np.empty(n), np.empty(n)
        for rows in chunks(n, self.chunk_size):
            dist, idx = knn_without_self(self.tree, self.coords, self.k, rows)
            est[rows], var[rows] = self.estimate(self.coords[rows], dist, idx)
        return est, var

    @abstractmethod
    def estimate(
        self, targets: FloatArray, dist: FloatArray, idx: IndexArray
    ) -> tuple[FloatArray, FloatArray]:
        """Estimates and variances from given neighbourhoods.

        Parameters
        ----------
        targets : ndarray, shape (m, d)
        dist, idx : ndarray, shape (m, j)
            Distances to and indices of each target's neighbours, nearest first.
        """

    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """JSON-safe description of the fitted method."""
