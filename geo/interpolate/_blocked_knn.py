"""Exact k-nearest neighbours of many clustered targets, a block of targets at a time.

A cKDTree answers each target alone. Grid cells come in tight clusters, so here the
targets are gathered into small x-y blocks; for a block with centre ``c`` whose
targets lie within ``delta`` of it, the ``k`` nearest samples of any of its targets lie
within ``R_k(c) + 2 delta`` of ``c`` (triangle inequality: ``R_k(t) <= R_k(c) + delta``),
so one ball query per block gives a candidate list that surely holds every target's
neighbours, and a compiled loop picks each target's ``k`` nearest among a few dozen
candidates. The answer is the same as ``cKDTree.query`` (up to the order of exactly
equal distances).
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

__all__ = ["blocks", "knn_blocked"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_TARGETS_PER_BLOCK = 64


@numba.njit(cache=True, nogil=True)
def _near_first(points: FloatArray, local: IndexArray, centre: FloatArray) -> IndexArray:
    """``local`` ordered by distance to ``centre``."""
    to_centre = np.empty(len(local))
    for c in range(len(local)):
        sq = 0.0
        for ax in range(points.shape[1]):
            diff = points[local[c], ax] - centre[ax]
            sq += diff * diff
        to_centre[c] = sq
    out: IndexArray = local[np.argsort(to_centre)]
    return out


@numba.njit(cache=True, nogil=True)
def _bin(
    targets: FloatArray, lo: FloatArray, side: float, nx: int, ny: int
) -> tuple[IndexArray, IndexArray, FloatArray, FloatArray]:
    """Targets by x-y block of ``side`` (a counting sort, blocks column by column):
    ``order``, each non-empty block's ``starts`` (then ``m``), centre and radius."""
    m, d = targets.shape
    block = np.empty(m, dtype=np.int64)
    count = np.zeros(nx * ny + 1, dtype=np.int64)
    for t in range(m):
        cx = min(int((targets[t, 0] - lo[0]) / side), nx - 1)
        cy = min(int((targets[t, 1] - lo[1]) / side), ny - 1)
        block[t] = cx * ny + cy
        count[block[t] + 1] += 1
    count = np.cumsum(count)
    nonempty = np.flatnonzero(count[1:] > count[:-1])
    starts = np.empty(len(nonempty) + 1, dtype=np.intp)
    starts[:-1] = count[nonempty]
    starts[-1] = m
    fill = count[:-1].copy()
    order = np.empty(m, dtype=np.intp)
    for t in range(m):
        order[fill[block[t]]] = t
        fill[block[t]] += 1
    nb = len(nonempty)
    centres = np.zeros((nb, d))
    delta = np.zeros(nb)
    for b in range(nb):
        for q in range(starts[b], starts[b + 1]):
            centres[b] += targets[order[q]]
        centres[b] /= starts[b + 1] - starts[b]
        for q in range(starts[b], starts[b + 1]):
            sq = 0.0
            for ax in range(d):
                diff = targets[order[q], ax] - centres[b, ax]
                sq += diff * diff
            delta[b] = max(delta[b], math.sqrt(sq))
    return order, starts, centres, delta


@numba.njit(cache=True, nogil=True)
def _pick(
    points: FloatArray,
    targets: FloatArray,
    centres: FloatArray,
    order: IndexArray,
    starts: IndexArray,
    cand: IndexArray,
    cand_ptr: IndexArray,
    dist: FloatArray,
    idx: IndexArray,
) -> None:
    """For each block's targets, the ``k`` nearest of its candidates, nearest first.

    The candidates are visited nearest the block's centre first, so that each target's
    buffer fills almost in order and most later candidates are rejected at once.
    """
    k = dist.shape[1]
    d = points.shape[1]
    for b in range(len(starts) - 1):
        local = _near_first(points, cand[cand_ptr[b] : cand_ptr[b + 1]], centres[b])
        for q in range(starts[b], starts[b + 1]):
            t = order[q]
            filled = 0
            for c in range(len(local)):
                p = local[c]
                sq = 0.0
                for ax in range(d):
                    diff = points[p, ax] - targets[t, ax]
                    sq += diff * diff
                if filled == k and sq >= dist[t, k - 1]:
                    continue
                j = filled - 1 if filled < k else k - 2
                while j >= 0 and dist[t, j] > sq:  # insertion into the sorted buffer
                    dist[t, j + 1] = dist[t, j]
                    idx[t, j + 1] = idx[t, j]
                    j -= 1
                dist[t, j + 1] = sq
                idx[t, j + 1] = p
                if filled < k:
                    filled += 1
            for j in range(k):
                dist[t, j] = math.sqrt(dist[t, j])


def blocks(
    tree: cKDTree, points: FloatArray, targets: FloatArray, k: int
) -> tuple[IndexArray, IndexArray, FloatArray, IndexArray, IndexArray]:
    """Targets gathered into x-y blocks, with each block's candidate samples.

    Returns ``order`` (targets, block by block), ``starts`` (each block's first
    position in ``order``, then ``m``), the blocks' ``centres``, and the candidates
    ``cand[cand_ptr[b]:cand_ptr[b + 1]]`` that surely hold the ``k`` nearest samples of
    every target of block ``b``. Blocks come column of blocks by column, so
    consecutive blocks are neighbours.
    """
    m, n = len(targets), len(points)
    lo_t, hi_t = targets[:, :2].min(axis=0), targets[:, :2].max(axis=0)
    area = max(float(np.prod(np.maximum(hi_t - lo_t, 1e-9))), 1e-18)
    lo_p, hi_p = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    spacing = math.sqrt(max(float(np.prod(np.maximum(hi_p - lo_p, 1e-9))), 1e-18) * k / n)
    side = max(min(math.sqrt(area * _TARGETS_PER_BLOCK / m), 0.5 * spacing), 1e-9)
    shape = np.floor((hi_t - lo_t) / side).astype(np.int64) + 1
    while int(shape[0]) * int(shape[1]) > 4 * m + 16:  # targets on a line: fewer blocks
        side *= 2.0
        shape = np.floor((hi_t - lo_t) / side).astype(np.int64) + 1
    order, starts, centres, delta = _bin(targets, lo_t, side, int(shape[0]), int(shape[1]))
    r_k, _ = tree.query(centres, k=[k], workers=-1)
    balls = tree.query_ball_point(centres, r_k[:, 0] * (1 + 1e-12) + 2.0 * delta + 1e-9, workers=-1)
    sizes = np.fromiter((len(b) for b in balls), dtype=np.intp, count=len(balls))
    cand_ptr = np.r_[0, np.cumsum(sizes)].astype(np.intp)
    cand = np.fromiter(itertools.chain.from_iterable(balls), dtype=np.intp, count=int(cand_ptr[-1]))
    return order, starts, centres, cand, cand_ptr


def knn_blocked(
    tree: cKDTree, points: FloatArray, targets: FloatArray, k: int
) -> tuple[FloatArray, IndexArray]:
    """Distances and indices of the ``k`` nearest ``points`` of each target, nearest first.

    ``tree`` is built on ``points``; ``k`` must be at most ``len(points)``.
    """
    m = len(targets)
    order, starts, centres, cand, cand_ptr = blocks(tree, points, targets, k)
    dist = np.empty((m, k))
    idx = np.empty((m, k), dtype=np.intp)
    _pick(points, targets, centres, order, starts, cand, cand_ptr, dist, idx)
    return dist, idx
