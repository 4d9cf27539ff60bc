"""Moving-neighbourhood ordinary kriging of clustered targets in one compiled sweep.

The fast path of :class:`~geo.interpolate.kriging.KrigingModel` for large batches
(grids). Targets are visited block by block (:func:`~geo.interpolate._blocked_knn.blocks`,
neighbouring blocks one after the other); each target's ``k`` nearest samples are
picked from its block's candidates, sorted by sample index and hashed, and looked up
in a small table of recent systems (slot = hash modulo the table size). Adjacent cells
mostly share their neighbour set, so almost every target finds its system there: one
Cholesky factor per distinct set, and per target only its covariances and one
triangular solve (the algebra of :mod:`geo.interpolate._ok_kernel`, the same answers).
Nothing of size ``(m, k)`` is written, and no global sort of the targets is needed,
so the sweep stays in cache.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geo.interpolate._blocked_knn import _near_first, blocks
from geo.interpolate._ok_kernel import _JITTERS, _ZERO_LAG, MODEL_CODES

__all__ = ["krige_blocked"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_MIN_PIVOT = 1e-12
"""Smallest accepted squared pivot, relative to the diagonal entry (see :func:`_cholesky`)."""

_TABLE_SLOTS = 1024
"""Systems kept for reuse (about 2.5 MB at k = 16)."""


@numba.njit(cache=True, nogil=True, fastmath=True)
def _cov(h: float, code: int, psill: float, range_m: float, sill: float) -> float:
    """Covariance ``sill - gamma(h)``: 0 lag gives the sill (nugget included)."""
    if h <= _ZERO_LAG:
        return sill
    if code == 0:
        r = min(h / range_m, 1.0)
        return psill * (1.0 - (1.5 * r - 0.5 * r**3))
    if code == 1:
        return psill * math.exp(-h / (range_m / 3.0))
    return psill * math.exp(-((h / (range_m * 4.0 / 7.0)) ** 2))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _block_cov(lp: FloatArray, code: int, psill: float, range_m: float, sill: float) -> FloatArray:
    """Strict lower triangle of the covariance matrix of a block's candidates ``lp``:
    each system of the block takes its entries from here."""
    nc, d = lp.shape
    out = np.empty((nc, nc))
    for i in range(nc):
        for j in range(i):
            sq = 0.0
            for ax in range(d):
                diff = lp[i, ax] - lp[j, ax]
                sq += diff * diff
            out[i, j] = _cov(math.sqrt(sq), code, psill, range_m, sill)
    return out


@numba.njit(cache=True, nogil=True)
def _cholesky(a: FloatArray, inv_diag: FloatArray) -> bool:
    """Lower triangle of ``a`` by its Cholesky factor, and the reciprocals of its
    diagonal; False if ``a`` is not numerically positive definite (a pivot below
    ``_MIN_PIVOT`` of its diagonal entry: coinciding samples without nugget)."""
    k = a.shape[0]
    for j in range(k):
        acc = a[j, j]
        for p in range(j):
            acc -= a[j, p] * a[j, p]
        if not acc > _MIN_PIVOT * a[j, j]:  # round-off of a singular matrix: jitter
            return False
        piv = math.sqrt(acc)
        a[j, j] = piv
        inv_diag[j] = 1.0 / piv
        for i in range(j + 1, k):
            acc = a[i, j]
            for p in range(j):
                acc -= a[i, p] * a[j, p]
            a[i, j] = acc / piv
    return True


@numba.njit(cache=True, nogil=True, fastmath=True)
def _factor(
    kb: FloatArray,
    local: IndexArray,
    error_var: FloatArray,
    members: IndexArray,
    sill: float,
    chol: FloatArray,
    inv_diag: FloatArray,
) -> bool:
    """Cholesky factor of the members' covariance matrix into ``chol`` (lower), with
    the reciprocals of its diagonal; a jitter as in ``_ok_kernel`` if needed.

    ``local`` are the members' places among the block's candidates, whose covariances
    are ``kb`` (:func:`_block_cov`).
    """
    k = len(members)
    for jitter in _JITTERS:
        for i in range(k):
            for j in range(i):
                li, lj = local[i], local[j]
                chol[i, j] = kb[li, lj] if li > lj else kb[lj, li]
            chol[i, i] = sill + error_var[members[i]] + jitter * sill
        if _cholesky(chol, inv_diag):
            return True
    return False


@numba.njit(cache=True, nogil=True, fastmath=True)
def _solve(chol: FloatArray, inv_diag: FloatArray, rhs: FloatArray, out: FloatArray) -> None:
    """``out = (L L^T)^-1 rhs``."""
    k = len(rhs)
    for i in range(k):
        acc = rhs[i]
        for p in range(i):
            acc -= chol[i, p] * out[p]
        out[i] = acc * inv_diag[i]
    for i in range(k - 1, -1, -1):
        acc = out[i]
        for p in range(i + 1, k):
            acc -= chol[p, i] * out[p]
        out[i] = acc * inv_diag[i]


@numba.njit(cache=True, nogil=True)
def _mark(members: IndexArray, version: int, mark: NDArray[np.int64], pos: IndexArray) -> None:
    """Record which system the ``members`` are in, and where."""
    for i in range(len(members)):
        mark[members[i]] = version
        pos[members[i]] = i


def _sample_keys(n: int) -> NDArray[np.uint64]:
    """A fixed random 64-bit key per sample; a set's key is their sum."""
    out: NDArray[np.uint64] = np.random.default_rng(20261208).integers(
        0, 2**63, size=n, dtype=np.uint64, endpoint=True
    )
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _nearest(
    lp: FloatArray,
    local: IndexArray,
    target: FloatArray,
    sqs: FloatArray,
    bd: FloatArray,
    bi: IndexArray,
    bl: IndexArray,
) -> None:
    """The ``k`` nearest of a block's candidates ``lp`` (their sample ids ``local``,
    nearest the block's centre first) into ``bi``, their places in ``local`` into
    ``bl``, squared distances into ``bd``."""
    k = len(bd)
    for ci in range(len(local)):
        sq = 0.0
        for ax in range(lp.shape[1]):
            diff = lp[ci, ax] - target[ax]
            sq += diff * diff
        sqs[ci] = sq
    filled = 0
    for ci in range(len(local)):  # insertion into the sorted buffer, as _blocked_knn
        sq = sqs[ci]
        if filled == k and sq >= bd[k - 1]:
            continue
        j = filled - 1 if filled < k else k - 2
        while j >= 0 and bd[j] > sq:
            bd[j + 1] = bd[j]
            bi[j + 1] = bi[j]
            bl[j + 1] = bl[j]
            j -= 1
        bd[j + 1] = sq
        bi[j + 1] = local[ci]
        bl[j + 1] = ci
        filled = min(filled + 1, k)


@numba.njit(cache=True, nogil=True)
def _same_set(bi: IndexArray, mark: NDArray[np.int64], version: int) -> bool:
    """Whether every sample of ``bi`` is in the system ``mark`` records as ``version``."""
    for i in range(len(bi)):  # noqa: SIM110 (numba compiles loops, not generators)
        if mark[bi[i]] != version:
            return False
    return True


@numba.njit(cache=True, nogil=True, fastmath=True)
def _new_system(
    kb: FloatArray,
    local: IndexArray,
    values: FloatArray,
    error_var: FloatArray,
    members: IndexArray,
    sill: float,
    chol: FloatArray,
    inv: FloatArray,
    a: FloatArray,
    r: FloatArray,
) -> tuple[bool, float, float]:
    """Factor of the members' system, ``a = C^-1 1``, ``r = C^-1 z - mu a``; returns
    ``(good, s, mu)`` with ``s = 1^T a``."""
    if not _factor(kb, local, error_var, members, sill, chol, inv):
        return False, 1.0, 0.0
    k = len(members)
    z = np.empty(k)
    for i in range(k):
        z[i] = values[members[i]]
    _solve(chol, inv, np.ones(k), a)
    _solve(chol, inv, z, r)
    s = a.sum()
    mu = r.sum() / s
    for i in range(k):
        r[i] -= mu * a[i]
    return True, s, mu


@numba.njit(cache=True, nogil=True, fastmath=True)
def _krige_one(
    chol: FloatArray,
    inv: FloatArray,
    a: FloatArray,
    r: FloatArray,
    s: float,
    mu: float,
    sill: float,
    c: FloatArray,
    v: FloatArray,
) -> tuple[float, float]:
    """Estimate and variance of a target with covariances ``c`` (system order)."""
    e, ac, vv = mu, 0.0, 0.0
    for i in range(len(c)):
        ci = c[i]
        e += ci * r[i]
        ac += ci * a[i]
        for p in range(i):  # forward substitution: v = L^-1 c
            ci -= chol[i, p] * v[p]
        v[i] = ci * inv[i]
        vv += v[i] * v[i]
    return e, max(sill - vv + (1.0 - ac) ** 2 / s, 0.0)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _sweep(
    points: FloatArray,
    values: FloatArray,
    error_var: FloatArray,
    variogram: tuple[int, float, float, float],
    targets: FloatArray,
    centres: FloatArray,
    order: IndexArray,
    starts: IndexArray,
    cand: IndexArray,
    cand_ptr: IndexArray,
    keys: NDArray[np.uint64],
    est: FloatArray,
    var: FloatArray,
    k: int,
) -> int:
    """Estimate and variance of every target; returns the number of factorizations."""
    code, psill, range_m, nugget = variogram
    sill = psill + nugget
    slots = _TABLE_SLOTS
    tab_key = np.zeros(slots, dtype=np.uint64)
    tab_ver = np.zeros(slots, dtype=np.int64)  # 0: empty
    tab_good = np.zeros(slots, dtype=np.bool_)
    tab_idx = np.empty((slots, k), dtype=np.intp)
    tab_chol = np.empty((slots, k, k))
    tab_inv, tab_a, tab_r = np.empty((slots, k)), np.empty((slots, k)), np.empty((slots, k))
    tab_s, tab_mu = np.ones(slots), np.zeros(slots)
    mark = np.zeros(len(points), dtype=np.int64)  # version of the system a sample is in
    pos = np.zeros(len(points), dtype=np.intp)  # and its place there
    cur = -1  # slot whose members ``mark`` and ``pos`` describe
    bd, bi, bl = np.empty(k), np.empty(k, dtype=np.intp), np.empty(k, dtype=np.intp)
    c, v = np.empty(k), np.empty(k)
    systems = 0
    for b in range(len(starts) - 1):
        local = _near_first(points, cand[cand_ptr[b] : cand_ptr[b + 1]], centres[b])
        lp = np.ascontiguousarray(points[local])  # the block's candidates
        sqs = np.empty(len(local))
        kb = np.empty((0, 0))  # the candidates' covariances, at the block's first new set
        for q in range(starts[b], starts[b + 1]):
            t = order[q]
            _nearest(lp, local, targets[t], sqs, bd, bi, bl)
            h = np.uint64(0)  # the set's key, whatever the order
            for i in range(k):
                h += keys[bi[i]]
            s = int(h % np.uint64(slots))
            hit = tab_ver[s] > 0 and tab_key[s] == h
            if hit and cur != s:
                _mark(tab_idx[s], tab_ver[s], mark, pos)
                cur = s
            if not (hit and _same_set(bi, mark, tab_ver[s])):  # new: factorize, this order
                systems += 1
                tab_key[s], tab_ver[s], tab_idx[s] = h, systems, bi
                _mark(bi, systems, mark, pos)
                cur = s
                if len(kb) == 0:
                    kb = _block_cov(lp, code, psill, range_m, sill)
                tab_good[s], tab_s[s], tab_mu[s] = _new_system(
                    kb, bl, values, error_var, bi, sill,
                    tab_chol[s], tab_inv[s], tab_a[s], tab_r[s],
                )  # fmt: skip
            if not tab_good[s]:
                est[t], var[t] = np.nan, np.nan
                continue
            for i in range(k):  # covariances in the system's order
                c[pos[bi[i]]] = _cov(math.sqrt(bd[i]), code, psill, range_m, sill)
            est[t], var[t] = _krige_one(
                tab_chol[s], tab_inv[s], tab_a[s], tab_r[s], tab_s[s], tab_mu[s], sill, c, v
            )
    return systems


def krige_blocked(
    tree: cKDTree,
    coords: FloatArray,
    values: FloatArray,
    error_var: FloatArray,
    model: str,
    psill: float,
    range_m: float,
    nugget: float,
    targets: FloatArray,
    k: int,
) -> tuple[FloatArray, FloatArray, int]:
    """Ordinary kriging of ``targets`` on their ``k`` nearest samples, in one sweep.

    Parameters
    ----------
    tree : cKDTree
        Built on ``coords``.
    coords, values, error_var : ndarray
        Samples: (n, d) coordinates, values, measurement-error variances.
    model, psill, range_m, nugget
        The variogram (see :class:`~geo.interpolate.variogram.Variogram`).
    targets : ndarray, shape (m, d)
    k : int
        Neighbours per target, at most ``n``.

    Returns
    -------
    estimate, variance : ndarray, shape (m,)
        The same as :func:`~geo.interpolate._ok_kernel.krige_neighbourhoods` on the
        targets' ``k`` nearest samples; NaN where a system could not be factorized.
    systems : int
        Factorizations made.
    """
    pts = np.ascontiguousarray(coords, dtype=np.float64)
    tgt = np.ascontiguousarray(targets, dtype=np.float64)
    order, starts, centres, cand, cand_ptr = blocks(tree, pts, tgt, k)
    est, var = np.empty(len(tgt)), np.empty(len(tgt))
    systems = _sweep(
        pts,
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(error_var, dtype=np.float64),
        (MODEL_CODES[model], float(psill), float(range_m), float(nugget)),
        tgt,
        centres,
        order,
        starts,
        cand,
        cand_ptr,
        _sample_keys(len(pts)),
        est,
        var,
        k,
    )
    return est, var, int(systems)
