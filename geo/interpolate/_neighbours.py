"""k-nearest neighbourhoods on a :class:`scipy.spatial.cKDTree`, with and without self."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

__all__ = ["chunks", "knn", "knn_without_self"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def knn(tree: cKDTree, targets: FloatArray, k: int) -> tuple[FloatArray, IndexArray]:
    """Distances and indices of the ``k`` nearest points, nearest first, always 2-D.

    ``k`` is clipped to the number of points in the tree.
    """
    k = min(k, tree.n)
    dist, idx = tree.query(targets, k=k, workers=-1)
    return dist.reshape(len(targets), k), idx.reshape(len(targets), k)


def knn_without_self(
    tree: cKDTree, points: FloatArray, k: int, rows: slice | None = None
) -> tuple[FloatArray, IndexArray]:
    """The ``k`` nearest *other* points of each tree point (leave-one-out neighbourhoods).

    Queries ``k + 1`` neighbours and drops the point itself; if the point is not among
    them (only possible when several points coincide), the farthest is dropped instead.

    Parameters
    ----------
    tree : cKDTree
        Built on ``points``.
    points : ndarray, shape (n, d)
    k : int
        Clipped to ``n - 1``.
    rows : slice, optional
        Only these points (for chunked use); default all.
    """
    rows = rows or slice(0, len(points))
    own = np.arange(len(points))[rows]
    k = min(k, tree.n - 1)
    dist, idx = knn(tree, points[rows], k + 1)
    is_self = idx == own[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    keep = ~is_self
    return dist[keep].reshape(len(own), k), idx[keep].reshape(len(own), k)
