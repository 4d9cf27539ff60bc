"""Seam-free ordinary kriging: one global solve, or a smooth partition of unity of them.

Moving-neighbourhood kriging (:mod:`geo.interpolate.kriging`) changes its set of
samples abruptly from one cell to the next, and the map shows straight seams there.
Here every target sees the same samples:

* up to :attr:`GlobalKrigingModel.max_patch` samples, **one** ordinary kriging system
  with all of them (one Cholesky factorization); the field is as smooth as the
  variogram;
* with more, the samples' x-y bounding box is cut into square cores; each core grows
  by ``overlap`` of its side into a *patch* solved globally with the samples inside,
  and the patch fields are blended with C1 weights (a smoothstep ramp across the
  overlap, normalised to sum to 1). A blend of smooth fields with smooth weights has
  no seam; inside a core, away from the overlaps, it is that patch's global solve.

Each system is in covariance form, ``C = sill - gamma(h)`` off the diagonal and
``sill + error_i`` on it (measurement error as in :mod:`geo.interpolate.kriging`),
factorized ``C = L L^T``. With ``a = C^-1 1``, ``b = C^-1 z``, ``s = 1^T a``::

    mu = (1^T b) / s                 r = b - mu a
    estimate(x) = mu + c(x) . r
    variance(x) = sill - c^T C^-1 c + (1 - a . c)^2 / s

which is exactly ordinary kriging (the estimate of PyKrige with every sample as a
neighbour). Leave-one-out predictions come in closed form (Dubrule 1983): with
``Q = C^-1 - a a^T / s`` the error at sample ``i`` is ``r_i / Q_ii`` and its variance
``1 / Q_ii``, no refit per sample. Blended patches blend their means and the
second moments (a mixture), so the variance stays a prediction variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.linalg import LinAlgError, cholesky, solve_triangular
from scipy.spatial.distance import cdist

from geo.errors import GeoError
from geo.interpolate.kriging import DEFAULT_MAX_PATCH, measurement_error
from geo.interpolate.variogram import Variogram

__all__ = ["DEFAULT_MAX_PATCH", "GlobalKrigingModel"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_TARGET_BLOCK = 4_000_000
"""Target-sample pairs per block of work (32 MB of float64)."""


@dataclass(frozen=True, eq=False)
class _System:
    """One factorized ordinary kriging system over some samples."""

    members: IndexArray
    coords: FloatArray
    chol: FloatArray
    a: FloatArray
    r: FloatArray
    mu: float
    s: float

    @classmethod
    def build(
        cls,
        members: IndexArray,
        coords: FloatArray,
        values: FloatArray,
        error_var: FloatArray,
        variogram: Variogram,
    ) -> _System:
        pts = coords[members]
        cov = variogram.sill - variogram(cdist(pts, pts))
        cov[np.diag_indices_from(cov)] += error_var[members]
        chol = _cholesky(cov, variogram.sill)
        a = _solve(chol, np.ones(len(members)))
        b = _solve(chol, values[members])
        s = float(a.sum())
        mu = float(b.sum()) / s
        return cls(members, pts, chol, a, b - mu * a, mu, s)

    def predict(self, targets: FloatArray, variogram: Variogram) -> tuple[FloatArray, FloatArray]:
        c = variogram.sill - variogram(cdist(targets, self.coords))
        estimate = self.mu + c @ self.r
        v = solve_triangular(self.chol, c.T, lower=True, check_finite=False)
        variance = variogram.sill - np.einsum("ij,ij->j", v, v) + (1.0 - c @ self.a) ** 2 / self.s
        return estimate, np.maximum(variance, 0.0)

    def loo(self, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Leave-one-out estimates and variances of the members (Dubrule's formulas)."""
        inv_l = solve_triangular(
            self.chol, np.eye(len(self.members)), lower=True, check_finite=False
        )
        q_diag = np.einsum("ij,ij->j", inv_l, inv_l) - self.a**2 / self.s
        return values[self.members] - self.r / q_diag, 1.0 / q_diag


def _cholesky(cov: FloatArray, sill: float) -> FloatArray:
    """Lower Cholesky factor; a growing jitter on the diagonal if it is not numerically SPD.

    A Gaussian variogram without nugget gives nearly singular matrices for close
    samples; 1e-10 to 1e-6 of the sill on the diagonal is far below any nugget.

    Raises
    ------
    GeoError
        If even the largest jitter does not help.
    """
    for jitter in (0.0, 1e-10, 1e-8, 1e-6):
        try:
            out: FloatArray = cholesky(
                cov + jitter * sill * np.eye(len(cov)), lower=True, check_finite=False
            )
        except LinAlgError:
            continue
        if np.all(np.isfinite(out)):
            return out
    raise GeoError("the kriging system is singular (coinciding samples?)", "samples")


def _solve(chol: FloatArray, rhs: FloatArray) -> FloatArray:
    y = solve_triangular(chol, rhs, lower=True, check_finite=False)
    out: FloatArray = solve_triangular(chol.T, y, lower=False, check_finite=False)
    return out


def _smoothstep(t: FloatArray) -> FloatArray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class GlobalKrigingModel:
    """Ordinary kriging with all samples, or a C1 blend of global solves on patches.

    Parameters
    ----------
    coords : array_like, shape (n, d)
        Scaled coordinates (x, y first), metres.
    values, weights : array_like, shape (n,)
        As for :class:`~geo.interpolate.base.NeighbourhoodInterpolator`.
    variogram : Variogram
    max_patch : int
        Up to this many samples: one global system. Above, patches of about this size.
    overlap : float
        How far each core grows into its neighbours, as a fraction of its side.

    Raises
    ------
    GeoError
        For empty, mismatched or non-finite inputs, ``max_patch < 2`` or an overlap
        outside (0, 1].
    """

    name: ClassVar[str] = "kriging"
    has_kriging_variance: bool = True

    def __init__(
        self,
        coords: npt.ArrayLike,
        values: npt.ArrayLike,
        weights: npt.ArrayLike,
        variogram: Variogram,
        max_patch: int = DEFAULT_MAX_PATCH,
        overlap: float = 0.25,
    ) -> None:
        self.coords: FloatArray = np.ascontiguousarray(coords, dtype=np.float64)
        self.values: FloatArray = np.ascontiguousarray(values, dtype=np.float64)
        self.weights: FloatArray = np.ascontiguousarray(weights, dtype=np.float64)
        n = len(self.values)
        if self.coords.ndim != 2 or len(self.coords) != n or self.weights.shape != (n,) or n < 1:
            raise GeoError("need one or more samples with coordinates, values, weights", "samples")
        if not all(np.all(np.isfinite(x)) for x in (self.coords, self.values, self.weights)):
            raise GeoError("sample coordinates, values and weights must be finite", "samples")
        if max_patch < 2:
            raise GeoError("must be at least 2", "max_patch")
        if not (math.isfinite(overlap) and 0.0 < overlap <= 1.0):
            raise GeoError("must be in (0, 1]", "overlap")
        self.variogram = variogram
        self.error_var = measurement_error(self.weights, variogram.nugget)
        self.max_patch = int(max_patch)
        self.overlap = float(overlap)
        xy = self.coords[:, :2]
        self._lo, self._hi = xy.min(axis=0), xy.max(axis=0)
        grown = n * (1.0 + 2.0 * overlap) ** 2  # samples a patch holds per core's worth
        cells = 1 if n <= max_patch else math.ceil(math.sqrt(grown / max_patch))
        self.cells = cells
        self._side = np.maximum((self._hi - self._lo) / cells, 1e-9)
        self._systems: list[tuple[FloatArray, FloatArray, _System]] = []
        for i in range(cells):
            for j in range(cells):
                core_lo = self._lo + self._side * np.array([i, j])
                core_hi = core_lo + self._side
                members = self._members(core_lo, core_hi) if cells > 1 else np.arange(n)
                system = _System.build(members, self.coords, self.values, self.error_var, variogram)
                self._systems.append((core_lo, core_hi, system))

    def __len__(self) -> int:
        return len(self.values)

    @property
    def n_patches(self) -> int:
        """Number of blended systems (1: one global solve)."""
        return len(self._systems)

    def _members(self, core_lo: FloatArray, core_hi: FloatArray) -> IndexArray:
        """Samples of a patch: inside the grown core, at least a few dozen."""
        margin = self.overlap * self._side
        xy = self.coords[:, :2]
        inside = np.all((xy >= core_lo - margin) & (xy <= core_hi + margin), axis=1)
        members = np.flatnonzero(inside)
        want = min(len(self), 32)
        if len(members) < want:  # sparse corner: take the nearest samples to the core
            centre = 0.5 * (core_lo + core_hi)
            nearest = np.argsort(((xy - centre) ** 2).sum(axis=1))[:want]
            members = np.union1d(members, nearest)
        return members

    def _weight(self, xy: FloatArray, core_lo: FloatArray, core_hi: FloatArray) -> FloatArray:
        """The patch's unnormalised C1 weight: 1 on the core, 0 beyond the overlap."""
        if self.cells == 1:
            return np.ones(len(xy))
        margin = self.overlap * self._side
        p = np.clip(xy, self._lo, self._hi)  # beyond the samples: as at the nearest edge
        ramp = np.minimum(p - (core_lo - margin), (core_hi + margin) - p) / margin
        out: FloatArray = np.prod(_smoothstep(ramp), axis=1)
        return out

    def predict(self, targets: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Estimates and kriging variances at ``targets`` (shape ``(m, d)``).

        Raises
        ------
        GeoError
            If the targets do not have the samples' dimension or are not finite.
        """
        pts = np.asarray(targets, dtype=np.float64)
        d = self.coords.shape[1]
        if pts.ndim != 2 or pts.shape[1] != d or not np.all(np.isfinite(pts)):
            raise GeoError(f"targets must be finite and of shape (m, {d})", "targets")
        return self._blend(pts, lambda system, rows: system.predict(pts[rows], self.variogram))

    def loo(self) -> tuple[FloatArray, FloatArray]:
        """Leave-one-out estimates and variances of every sample (closed form).

        Raises
        ------
        GeoError
            With fewer than 2 samples.
        """
        if len(self) < 2:
            raise GeoError("cross-validation needs at least 2 samples", "samples")
        per_system = [system.loo(self.values) for _, _, system in self._systems]
        position = {id(s): k for k, (_, _, s) in enumerate(self._systems)}

        def of(system: _System, rows: IndexArray) -> tuple[FloatArray, FloatArray]:
            est, var = per_system[position[id(system)]]
            where = np.searchsorted(system.members, rows)
            return est[where], var[where]

        return self._blend(self.coords, of, members_only=True)

    def _blend(
        self, pts: FloatArray, run: Any, members_only: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        """Weighted mean and mixture variance of the systems' predictions."""
        total = np.zeros(len(pts))
        first = np.zeros(len(pts))
        within = np.zeros(len(pts))
        second = np.zeros(len(pts))
        for core_lo, core_hi, system in self._systems:
            w = self._weight(pts[:, :2], core_lo, core_hi)
            rows = np.flatnonzero(w > 0.0)
            if members_only:  # leave-one-out: a sample only in systems that hold it
                rows = np.intersect1d(rows, system.members, assume_unique=True)
            step = max(1, _TARGET_BLOCK // len(system.members))
            for start in range(0, len(rows), step):
                block = rows[start : start + step]
                est, var = run(system, block)
                wb = w[block]
                total[block] += wb
                first[block] += wb * est
                within[block] += wb * var
                second[block] += wb * est * est
        mean = first / total
        between = np.maximum(second / total - mean * mean, 0.0)  # 0 for one system
        return mean, within / total + between

    def parameters(self) -> dict[str, Any]:
        """Variogram parameters, how many samples and patches."""
        return {
            **self.variogram.parameters(),
            "solve": "global" if self.cells == 1 else "partition of unity",
            "patches": self.n_patches,
            "max_patch": self.max_patch,
        }
