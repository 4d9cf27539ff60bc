"""The fused kriging sweep of large batches against the per-neighbourhood path and PyKrige C."""

from __future__ import annotations

import numpy as np
import pytest
from pykrige.ok import OrdinaryKriging

from geo.interpolate.base import BLOCKED_FROM, NeighbourhoodInterpolator
from geo.interpolate.kriging import KrigingModel
from geo.interpolate.variogram import MODELS, Variogram
from tests.geo.interpolate.conftest import FloatArray

Data = tuple[FloatArray, FloatArray]


def grid(side: int, extent_m: float = 150.0) -> FloatArray:
    """Cell centres of a ``side`` x ``side`` grid over the field, z = 0, rows north first."""
    xs = (np.arange(side) + 0.5) * extent_m / side
    gx, gy = np.meshgrid(xs, xs[::-1])
    return np.column_stack((gx.ravel(), gy.ravel(), np.zeros(gx.size)))


def previous(model: KrigingModel, targets: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The per-neighbourhood path: k nearest (blocked search), then the kernel."""
    return NeighbourhoodInterpolator.predict_batch(model, targets)


TARGETS = grid(64)  # 4,096 cells: the sweep's size


def test_the_fixture_takes_the_sweep() -> None:
    assert len(TARGETS) >= BLOCKED_FROM


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("k", [5, 16])
def test_sweep_equals_the_previous_path(field: Data, model: str, k: int) -> None:
    coords, values = field
    weights = np.random.default_rng(3).uniform(0.2, 1.0, len(values))  # measurement error
    kriging = KrigingModel(coords, values, weights, Variogram(model, 1.0, 30.0, 0.1), k)
    est, var = kriging.predict(TARGETS)
    ref_est, ref_var = previous(kriging, TARGETS)
    np.testing.assert_allclose(est, ref_est, rtol=0.0, atol=1e-9)
    np.testing.assert_allclose(var, ref_var, rtol=0.0, atol=1e-9)


def test_sweep_equals_pykrige_c_backend(field: Data) -> None:
    coords, values = field
    variogram = Variogram("exponential", 1.0, 30.0, 0.1)
    est, var = KrigingModel(coords, values, np.ones(len(values)), variogram, 16).predict(TARGETS)
    ok = OrdinaryKriging(
        coords[:, 0],
        coords[:, 1],
        values,
        variogram_model="exponential",
        variogram_parameters={"psill": 1.0, "range": 30.0, "nugget": 0.1},
    )
    ref_est, ref_var = ok.execute(
        "points", TARGETS[:, 0], TARGETS[:, 1], n_closest_points=16, backend="C"
    )
    np.testing.assert_allclose(est, np.asarray(ref_est), rtol=0.0, atol=1e-9)
    np.testing.assert_allclose(var, np.asarray(ref_var), rtol=0.0, atol=1e-9)


def test_sweep_on_targets_along_a_line(field: Data) -> None:
    coords, values = field
    kriging = KrigingModel(
        coords, values, np.ones(len(values)), Variogram("spherical", 1.0, 40.0, 0.0)
    )
    line = np.column_stack((np.linspace(0.0, 150.0, 3_000), np.full(3_000, 75.0), np.zeros(3_000)))
    est, var = kriging.predict(line)
    ref_est, ref_var = previous(kriging, line)
    np.testing.assert_allclose(est, ref_est, rtol=0.0, atol=1e-9)
    np.testing.assert_allclose(var, ref_var, rtol=0.0, atol=1e-9)


def test_sweep_with_coinciding_samples() -> None:
    """Singular systems (doubled samples, no nugget) get a jitter: finite, bounded, and
    the two copies share the weight. Both paths regularize a singular system, so they
    agree to the jitter's order, not to round-off."""
    rng = np.random.default_rng(8)
    xy = rng.uniform(0.0, 100.0, size=(60, 2))
    coords = np.column_stack((np.vstack((xy, xy[:5])), np.zeros(65)))  # five doubled
    values = rng.standard_normal(65)
    kriging = KrigingModel(coords, values, np.ones(65), Variogram("exponential", 1.0, 30.0, 0.0), 8)
    targets = np.vstack((grid(50, 100.0), coords[:5]))
    est, var = kriging.predict(targets)
    ref_est, ref_var = previous(kriging, targets)
    assert np.all(np.isfinite(est)) and np.all(np.isfinite(var))
    assert np.abs(est).max() <= np.abs(values).max()
    np.testing.assert_allclose(est, ref_est, rtol=0.0, atol=1e-5)
    np.testing.assert_allclose(var, ref_var, rtol=0.0, atol=1e-5)
    np.testing.assert_allclose(est[-5:], (values[:5] + values[60:]) / 2.0, atol=1e-5)
