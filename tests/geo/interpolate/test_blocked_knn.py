"""Blocked k-nearest neighbours give cKDTree's answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from geo.interpolate._blocked_knn import knn_blocked

RNG = np.random.default_rng(8)


def grid_targets(side: int, size_m: float, z: float = 0.0) -> np.ndarray:
    xs = (np.arange(side) + 0.5) * (size_m / side)
    gx, gy = np.meshgrid(xs, xs[::-1])
    return np.column_stack((gx.ravel(), gy.ravel(), np.full(gx.size, z)))


CASES = {
    "uniform samples, grid": (
        np.column_stack((RNG.uniform(0, 300, (500, 2)), np.zeros(500))),
        grid_targets(120, 340.0),
    ),
    "clumped samples, grid beyond them": (
        np.column_stack((RNG.normal(150, 10, (300, 2)), np.zeros(300))),
        grid_targets(80, 400.0, z=3.0),
    ),
    "3D tiers, scattered targets": (
        np.column_stack((RNG.uniform(0, 500, (400, 2)), RNG.uniform(0, 80, 400))),
        np.column_stack((RNG.uniform(-50, 550, (3000, 2)), RNG.uniform(0, 80, 3000))),
    ),
}


@pytest.mark.parametrize("k", [1, 5, 16])
@pytest.mark.parametrize("case", list(CASES))
def test_same_neighbours_and_distances_as_ckdtree(case: str, k: int) -> None:
    points, targets = CASES[case]
    tree = cKDTree(points)
    ref_dist, ref_idx = tree.query(targets, k=[*range(1, k + 1)])
    dist, idx = knn_blocked(tree, points, targets, k)
    np.testing.assert_allclose(dist, ref_dist, rtol=0, atol=1e-9)
    assert np.all(np.diff(dist, axis=1) >= 0)  # nearest first
    np.testing.assert_array_equal(np.sort(idx, axis=1), np.sort(ref_idx, axis=1))
