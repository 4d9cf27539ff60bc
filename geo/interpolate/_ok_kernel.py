"""Compiled core of moving-neighbourhood ordinary kriging (numba).

Each target's ``k`` neighbours are sorted by sample index and hashed; targets are
visited in hash order, so targets whose neighbourhoods hold the same samples come one
after the other and share one factorization (on a grid, ten or so cells share each
neighbourhood). Each system is in covariance form, ``C = sill - gamma`` off the
diagonal and ``sill + error_i`` on it, factorized ``C = L L^T`` in place; per system ``a = C^-1 1``,
``s = 1^T a``, ``mu = 1^T C^-1 z / s`` and ``r = C^-1 z - mu a``, and per target, with
its covariances ``c`` and ``v = L^-1 c`` (one triangular solve)::

    estimate = mu + c . r           variance = sill - v . v + (1 - a . c)^2 / s

which is ordinary kriging exactly (the same weights as PyKrige's semivariogram
system; OK is unchanged by adding a constant to the covariance). A system that is not
numerically positive definite (coinciding samples without nugget) gets a jitter of
1e-10 to 1e-6 of the sill on its diagonal; if none helps, its targets get NaN and the
caller falls back.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["MODEL_CODES", "krige_neighbourhoods"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

MODEL_CODES = {"spherical": 0, "exponential": 1, "gaussian": 2}
"""How :func:`krige_neighbourhoods` names the variogram models."""

_ZERO_LAG = 1e-10
_JITTERS = (0.0, 1e-10, 1e-8, 1e-6)


@numba.njit(cache=True, nogil=True)
def _gamma(h: float, code: int, psill: float, range_m: float, nugget: float) -> float:
    if h <= _ZERO_LAG:
        return 0.0
    if code == 0:
        r = min(h / range_m, 1.0)
        return psill * (1.5 * r - 0.5 * r**3) + nugget
    if code == 1:
        return psill * -math.expm1(-h / (range_m / 3.0)) + nugget
    return psill * -math.expm1(-((h / (range_m * 4.0 / 7.0)) ** 2)) + nugget


@numba.njit(cache=True, nogil=True)
def _sort_and_hash(
    dist: FloatArray, idx: IndexArray, mult: NDArray[np.uint64]
) -> NDArray[np.uint64]:
    """Sort each row of (idx, dist) by idx in place; a hash of each sorted idx row."""
    m, k = idx.shape
    out = np.empty(m, dtype=np.uint64)
    for t in range(m):
        for i in range(1, k):  # insertion sort: k is small
            ki, kd = idx[t, i], dist[t, i]
            j = i - 1
            while j >= 0 and idx[t, j] > ki:
                idx[t, j + 1], dist[t, j + 1] = idx[t, j], dist[t, j]
                j -= 1
            idx[t, j + 1], dist[t, j + 1] = ki, kd
        h = np.uint64(0)
        for i in range(k):
            h += np.uint64(idx[t, i]) * mult[i]
        out[t] = h
    return out


@numba.njit(cache=True, nogil=True)
def _assemble(
    coords: FloatArray,
    error_var: FloatArray,
    members: IndexArray,
    code: int,
    psill: float,
    range_m: float,
    nugget: float,
    jitter: float,
    out: FloatArray,
) -> None:
    """Lower triangle of the covariance matrix of ``members`` into ``out``."""
    k = len(members)
    d = coords.shape[1]
    sill = psill + nugget
    for i in range(k):
        for j in range(i):
            sq = 0.0
            for ax in range(d):
                diff = coords[members[i], ax] - coords[members[j], ax]
                sq += diff * diff
            out[i, j] = sill - _gamma(math.sqrt(sq), code, psill, range_m, nugget)
        out[i, i] = sill + error_var[members[i]] + jitter * sill


@numba.njit(cache=True, nogil=True)
def _cholesky_in_place(a: FloatArray) -> bool:
    """Overwrite the lower triangle of ``a`` with its Cholesky factor; False if not SPD."""
    k = a.shape[0]
    for j in range(k):
        acc = a[j, j]
        for p in range(j):
            acc -= a[j, p] * a[j, p]
        if not acc > 0.0:
            return False
        piv = math.sqrt(acc)
        a[j, j] = piv
        for i in range(j + 1, k):
            acc = a[i, j]
            for p in range(j):
                acc -= a[i, p] * a[j, p]
            a[i, j] = acc / piv
    return True


@numba.njit(cache=True, nogil=True)
def _factorize(
    coords: FloatArray,
    error_var: FloatArray,
    members: IndexArray,
    code: int,
    psill: float,
    range_m: float,
    nugget: float,
    chol: FloatArray,
) -> bool:
    """Cholesky factor of the covariance matrix of ``members`` into ``chol`` (lower)."""
    for jitter in _JITTERS:
        _assemble(coords, error_var, members, code, psill, range_m, nugget, jitter, chol)
        if _cholesky_in_place(chol):
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _same_row(idx: IndexArray, t: int, prev: int) -> bool:
    if prev < 0:
        return False
    for i in range(idx.shape[1]):  # noqa: SIM110 (numba compiles loops, not generators)
        if idx[t, i] != idx[prev, i]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _system_vectors(
    chol: FloatArray, values: FloatArray, members: IndexArray, a: FloatArray, r: FloatArray
) -> tuple[float, float]:
    """``a = C^-1 1`` and ``r = C^-1 z - mu a`` in place; returns ``(s, mu)``."""
    k = len(members)
    z = np.empty(k)
    for i in range(k):
        z[i] = values[members[i]]
    _solve(chol, np.ones(k), a)
    _solve(chol, z, r)
    s = a.sum()
    mu = r.sum() / s
    for i in range(k):
        r[i] -= mu * a[i]
    return s, mu


@numba.njit(cache=True, nogil=True)
def _solve(chol: FloatArray, rhs: FloatArray, out: FloatArray) -> None:
    """``out = (L L^T)^-1 rhs``."""
    k = len(rhs)
    for i in range(k):
        acc = rhs[i]
        for p in range(i):
            acc -= chol[i, p] * out[p]
        out[i] = acc / chol[i, i]
    for i in range(k - 1, -1, -1):
        acc = out[i]
        for p in range(i + 1, k):
            acc -= chol[p, i] * out[p]
        out[i] = acc / chol[i, i]


@numba.njit(cache=True, nogil=True)
def _krige_sorted(
    coords: FloatArray,
    values: FloatArray,
    error_var: FloatArray,
    code: int,
    psill: float,
    range_m: float,
    nugget: float,
    dist: FloatArray,
    idx: IndexArray,
    order: IndexArray,
    est: FloatArray,
    var: FloatArray,
) -> int:
    """Krige the targets in ``order``; returns the number of factorizations."""
    k = idx.shape[1]
    sill = psill + nugget
    chol = np.empty((k, k))
    a = np.empty(k)
    r = np.empty(k)
    v = np.empty(k)
    s, mu = 1.0, 0.0
    good = False
    prev = -1
    systems = 0
    for t in order:
        if not _same_row(idx, t, prev):
            good = _factorize(coords, error_var, idx[t], code, psill, range_m, nugget, chol)
            systems += 1
            if good:
                s, mu = _system_vectors(chol, values, idx[t], a, r)
        prev = t
        if not good:
            est[t] = np.nan
            var[t] = np.nan
            continue
        e, ac, vv = mu, 0.0, 0.0
        for i in range(k):
            ci = sill - _gamma(dist[t, i], code, psill, range_m, nugget)
            e += ci * r[i]
            ac += ci * a[i]
            for p in range(i):  # forward substitution: v = L^-1 c
                ci -= chol[i, p] * v[p]
            v[i] = ci / chol[i, i]
            vv += v[i] * v[i]
        est[t] = e
        var[t] = max(sill - vv + (1.0 - ac) ** 2 / s, 0.0)
    return systems


_MULT: NDArray[np.uint64] = np.random.default_rng(20261208).integers(
    1, 2**63, size=256, dtype=np.uint64
)
_MULT |= np.uint64(1)


def krige_neighbourhoods(
    coords: FloatArray,
    values: FloatArray,
    error_var: FloatArray,
    model: str,
    psill: float,
    range_m: float,
    nugget: float,
    dist: FloatArray,
    idx: IndexArray,
) -> tuple[FloatArray, FloatArray, int]:
    """Ordinary kriging estimates and variances of targets from their neighbourhoods.

    Parameters
    ----------
    coords, values, error_var : ndarray
        Samples: (n, d) coordinates, values, measurement-error variances.
    model, psill, range_m, nugget
        The variogram (see :class:`~geo.interpolate.variogram.Variogram`).
    dist, idx : ndarray, shape (m, k)
        Distances to and indices of each target's neighbours (any order; copied).

    Returns
    -------
    estimate, variance : ndarray, shape (m,)
        NaN where a system could not be factorized.
    systems : int
        Factorizations made (distinct neighbourhoods, give or take hash collisions).
    """
    m, k = idx.shape
    if k > len(_MULT):
        raise ValueError(f"at most {len(_MULT)} neighbours")
    idx_s = np.array(idx, dtype=np.intp, order="C")
    dist_s = np.array(dist, dtype=np.float64, order="C")
    keys = _sort_and_hash(dist_s, idx_s, _MULT[:k])
    order = np.argsort(keys, kind="stable")
    est, var = np.empty(m), np.empty(m)
    systems = _krige_sorted(
        np.ascontiguousarray(coords, dtype=np.float64),
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(error_var, dtype=np.float64),
        MODEL_CODES[model],
        float(psill),
        float(range_m),
        float(nugget),
        dist_s,
        idx_s,
        order,
        est,
        var,
    )
    return est, var, int(systems)
