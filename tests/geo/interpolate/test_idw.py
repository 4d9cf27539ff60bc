"""Inverse distance weighting: exactness, agreement with a dense reference, spread."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.spatial.distance import cdist

from geo.errors import GeoError
from geo.interpolate.idw import IDWModel, IDWParams

FloatArray = NDArray[np.float64]
RNG = np.random.default_rng(11)
COORDS = RNG.uniform(0.0, 100.0, size=(60, 3))
VALUES = RNG.uniform(0.0, 1.0, size=60)
WEIGHTS = RNG.uniform(0.2, 1.0, size=60)
TARGETS = RNG.uniform(-20.0, 120.0, size=(300, 3))


def dense_idw(
    targets: FloatArray, k: int, power: float, weights: FloatArray = WEIGHTS
) -> tuple[FloatArray, FloatArray]:
    """Reference: all distances, the k smallest, plain loops over nothing clever."""
    d = cdist(targets, COORDS)
    nearest = np.argsort(d, axis=1)[:, :k]
    dk = np.take_along_axis(d, nearest, axis=1)
    w = weights[nearest] / dk**power
    v = VALUES[nearest]
    est = (w * v).sum(axis=1) / w.sum(axis=1)
    var = (w * (v - est[:, None]) ** 2).sum(axis=1) / w.sum(axis=1)
    return est, var


@pytest.mark.parametrize("power", [1.0, 2.0, 3.5])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_matches_a_dense_reference(k: int, power: float) -> None:
    est, var = IDWModel(COORDS, VALUES, WEIGHTS, IDWParams(k=k, power=power)).predict(TARGETS)
    ref_est, ref_var = dense_idw(TARGETS, k, power)
    np.testing.assert_allclose(est, ref_est, rtol=1e-12)
    np.testing.assert_allclose(var, ref_var, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("k", [1, 4, 12])
def test_reproduces_the_data_at_the_samples(k: int) -> None:
    est, var = IDWModel(COORDS, VALUES, WEIGHTS, IDWParams(k=k)).predict(COORDS)
    np.testing.assert_array_equal(est, VALUES)
    np.testing.assert_array_equal(var, 0.0)


def test_midpoint_of_two_samples_is_their_mean_and_spread() -> None:
    model = IDWModel([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]], [1.0, 3.0], [1.0, 1.0])
    est, var = model.predict([[5.0, 0.0, 0.0]])
    assert est[0] == pytest.approx(2.0)
    assert var[0] == pytest.approx(1.0)


def test_less_trusted_samples_count_less() -> None:
    coords = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]]
    est, _ = IDWModel(coords, [1.0, 3.0], [1.0, 0.25]).predict([[5.0, 0.0, 0.0]])
    assert est[0] == pytest.approx((1.0 + 0.25 * 3.0) / 1.25)


def test_constant_field_is_constant_with_zero_spread() -> None:
    est, var = IDWModel(COORDS, np.full(60, 0.4), WEIGHTS).predict(TARGETS)
    np.testing.assert_allclose(est, 0.4, rtol=1e-14)
    np.testing.assert_allclose(var, 0.0, atol=1e-28)


def test_k_is_clipped_to_the_number_of_samples() -> None:
    model = IDWModel(COORDS[:3], VALUES[:3], WEIGHTS[:3], IDWParams(k=12))
    assert model.k == 3
    est, _ = model.predict(TARGETS)
    ref, _ = dense_idw(TARGETS, 60, 2.0)  # all 60 would differ from the 3 nearest
    assert np.all(np.isfinite(est))
    assert not np.allclose(est, ref)
    assert np.all((est >= VALUES[:3].min()) & (est <= VALUES[:3].max()))


def test_batches_give_the_same_answer() -> None:
    class SmallBatches(IDWModel):
        chunk_size = 7

    params = IDWParams(k=6)
    whole = IDWModel(COORDS, VALUES, WEIGHTS, params).predict(TARGETS)
    batched = SmallBatches(COORDS, VALUES, WEIGHTS, params).predict(TARGETS)
    np.testing.assert_array_equal(whole[0], batched[0])
    np.testing.assert_array_equal(whole[1], batched[1])


def test_far_targets_and_high_powers_never_give_nan() -> None:
    far = np.array([[1e12, 1e12, 0.0], [-1e9, 5.0, 3.0]])
    est, var = IDWModel(COORDS, VALUES, WEIGHTS, IDWParams(power=30.0)).predict(far)
    assert np.all(np.isfinite(est)) and np.all(np.isfinite(var))


@pytest.mark.parametrize(("k", "power"), [(0, 2.0), (4, 0.0), (4, float("inf"))])
def test_parameters_are_checked(k: int, power: float) -> None:
    with pytest.raises(GeoError):
        IDWParams(k=k, power=power)


def test_targets_must_match_the_sample_dimension() -> None:
    with pytest.raises(GeoError) as err:
        IDWModel(COORDS, VALUES, WEIGHTS).predict(np.zeros((4, 2)))
    assert err.value.field == "targets"
