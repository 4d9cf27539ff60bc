"""Ordinary kriging in local neighbourhoods: exactness, variance, a dense reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from geo.errors import GeoError, UnknownMethod
from geo.interpolate.kriging import (
    MAX_ERROR_FACTOR,
    KrigingModel,
    KrigingParams,
    measurement_error,
)
from geo.interpolate.variogram import MODELS, Variogram
from tests.geo.interpolate.conftest import TRUE_VARIOGRAM, FloatArray

RNG = np.random.default_rng(5)
TARGETS = np.column_stack((RNG.uniform(-10.0, 160.0, size=(200, 2)), np.zeros(200)))


def reference_kriging(
    coords: FloatArray,
    values: FloatArray,
    variogram: Variogram,
    targets: FloatArray,
    k: int,
    error_var: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """One target at a time: the k nearest, the textbook OK system, np.linalg.solve."""
    err = np.zeros(len(values)) if error_var is None else error_var
    est, var = np.empty(len(targets)), np.empty(len(targets))
    for t, target in enumerate(targets):
        d = np.linalg.norm(coords - target, axis=1)
        near = np.argsort(d)[:k]
        a = np.ones((k + 1, k + 1))
        a[:k, :k] = variogram(cdist(coords[near], coords[near])) - np.diag(err[near])
        a[k, k] = 0.0
        b = np.append(variogram(d[near]), 1.0)
        lam_mu = np.linalg.solve(a, b)
        est[t] = lam_mu[:k] @ values[near]
        var[t] = lam_mu @ b  # sum(lambda * gamma) + mu
    return est, var


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("k", [5, 16])
def test_matches_a_one_target_at_a_time_reference(
    field: tuple[FloatArray, FloatArray], model: str, k: int
) -> None:
    coords, values = field
    variogram = Variogram(model, 1.0, 30.0, 0.1)
    est, var = KrigingModel(coords, values, np.ones(len(values)), variogram, k).predict(TARGETS)
    ref_est, ref_var = reference_kriging(coords, values, variogram, TARGETS, k)
    np.testing.assert_allclose(est, ref_est, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(var, ref_var, rtol=1e-8, atol=1e-10)


def test_measurement_error_matches_the_reference(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    weights = np.random.default_rng(1).uniform(0.05, 1.0, len(values))
    model = KrigingModel(coords, values, weights, TRUE_VARIOGRAM, 12)
    err = measurement_error(weights, TRUE_VARIOGRAM.nugget)
    est, var = model.predict(TARGETS)
    ref_est, ref_var = reference_kriging(coords, values, TRUE_VARIOGRAM, TARGETS, 12, err)
    np.testing.assert_allclose(est, ref_est, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(var, ref_var, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("nugget", [0.0, 0.3])
def test_honours_the_data_with_full_weights(
    field: tuple[FloatArray, FloatArray], model: str, nugget: float
) -> None:
    coords, values = field
    variogram = Variogram(model, 1.0, 30.0, nugget)
    est, var = KrigingModel(coords, values, np.ones(len(values)), variogram).predict(coords)
    np.testing.assert_allclose(est, values, atol=1e-8)
    np.testing.assert_allclose(var, 0.0, atol=1e-8)


def test_less_trusted_samples_are_smoothed_towards_their_neighbours(
    field: tuple[FloatArray, FloatArray],
) -> None:
    coords, values = field
    weights = np.ones(len(values))
    weights[0] = 0.25
    est, var = KrigingModel(coords, values, weights, TRUE_VARIOGRAM).predict(coords[:1])
    exact, _ = KrigingModel(coords, values, np.ones(len(values)), TRUE_VARIOGRAM).predict(
        coords[:1]
    )
    assert exact[0] == pytest.approx(values[0], abs=1e-8)
    assert abs(est[0] - values[0]) > 1e-3
    assert var[0] > 1e-3


@pytest.mark.parametrize(("weight", "factor"), [(1.0, 0.0), (0.5, 1.0), (0.2, 4.0), (1e-6, None)])
def test_measurement_error_grows_as_weight_falls_and_is_capped(
    weight: float, factor: float | None
) -> None:
    err = measurement_error(np.array([weight]), 0.2)[0]
    assert err == pytest.approx(0.2 * (MAX_ERROR_FACTOR if factor is None else factor))


def test_variance_grows_away_from_the_data() -> None:
    coords = np.array([[0.0, 0.0, 0.0], [50.0, 0.0, 0.0], [0.0, 50.0, 0.0], [50.0, 50.0, 0.0]])
    model = KrigingModel(
        coords, [0.1, 0.4, 0.3, 0.9], np.ones(4), Variogram("exponential", 1, 300, 0)
    )
    # From a sample outwards, away from the others.
    line = np.column_stack((-np.geomspace(1e-3, 200.0, 30), np.zeros(30), np.zeros(30)))
    _, var = model.predict(np.vstack((coords[:1], line)))
    assert var[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(var) > 0.0)


def test_variance_is_never_negative(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    targets = np.vstack((coords + 1e-7, TARGETS, coords))
    for variogram in (Variogram("gaussian", 1.0, 30.0, 0.0), TRUE_VARIOGRAM):
        _, var = KrigingModel(coords, values, np.ones(len(values)), variogram).predict(targets)
        assert np.all(var >= 0.0)


def test_adding_a_constant_shifts_the_estimate(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    ones = np.ones(len(values))
    est, var = KrigingModel(coords, values, ones, TRUE_VARIOGRAM).predict(TARGETS)
    shifted, var2 = KrigingModel(coords, values + 5.0, ones, TRUE_VARIOGRAM).predict(TARGETS)
    np.testing.assert_allclose(shifted, est + 5.0, atol=1e-9)
    np.testing.assert_allclose(var2, var, atol=1e-12)


def test_batches_give_the_same_answer(field: tuple[FloatArray, FloatArray]) -> None:
    class SmallBatches(KrigingModel):
        chunk_size = 13

    coords, values = field
    ones = np.ones(len(values))
    whole = KrigingModel(coords, values, ones, TRUE_VARIOGRAM).predict(TARGETS)
    batched = SmallBatches(coords, values, ones, TRUE_VARIOGRAM).predict(TARGETS)
    np.testing.assert_allclose(whole[0], batched[0], rtol=1e-12)
    np.testing.assert_allclose(whole[1], batched[1], rtol=1e-12)


def test_coinciding_samples_do_not_break_the_solve() -> None:
    coords = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]])
    model = KrigingModel(coords, [0.2, 0.4, 0.5, 0.9], np.ones(4), TRUE_VARIOGRAM, k=4)
    est, var = model.predict([[3.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    assert np.all(np.isfinite(est)) and np.all(np.isfinite(var))
    assert est[1] == pytest.approx(0.3)  # the two coinciding samples share the weight


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"model": "matern"}, UnknownMethod),
        ({"k": 1}, GeoError),
        ({"n_lags": 2}, GeoError),
        ({"nugget": -1.0}, GeoError),
    ],
)
def test_parameters_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        KrigingParams(**kwargs)


def test_parameters_report_the_variogram_and_k(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    model = KrigingModel(coords[:10], values[:10], np.ones(10), TRUE_VARIOGRAM, k=16)
    params = model.parameters()
    assert params["k"] == 10
    assert (params["model"], params["psill"], params["range_m"], params["nugget"]) == (
        "exponential",
        1.0,
        30.0,
        0.1,
    )
