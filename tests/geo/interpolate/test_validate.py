"""Leave-one-out cross-validation: the vectorized runs against refitting n times."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import GeoError
from geo.interpolate.idw import IDWModel, IDWParams
from geo.interpolate.kriging import KrigingModel
from geo.interpolate.validate import cv_scores, leave_one_out, loo_predictions
from tests.geo.interpolate.conftest import TRUE_VARIOGRAM, FloatArray, simulate

Data = tuple[FloatArray, FloatArray]


def test_scores_of_known_errors() -> None:
    scores = cv_scores([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0], [1.0, 4.0, 4.0, 0.0])
    assert scores.rmse == pytest.approx(np.sqrt(5.0 / 4.0))
    assert (scores.mae, scores.bias, scores.n) == (0.75, -0.25, 4)
    assert scores.msse == pytest.approx((1.0 + 0.0 + 1.0) / 3.0)  # zero variances left out


def test_no_variance_means_no_msse() -> None:
    assert cv_scores([1.0, 2.0], [1.5, 2.0]).msse is None
    assert cv_scores([1.0, 2.0], [1.5, 2.0], [0.0, 0.0]).msse is None


@pytest.mark.parametrize("k", [1, 6, 12])
def test_idw_leave_one_out_equals_refitting(field: Data, k: int) -> None:
    coords, values = field
    weights = np.linspace(0.3, 1.0, len(values))
    fast, _ = loo_predictions(IDWModel(coords, values, weights, IDWParams(k=k)))
    for i in range(0, len(values), 37):
        others = np.arange(len(values)) != i
        slow, _ = IDWModel(coords[others], values[others], weights[others], IDWParams(k=k)).predict(
            coords[i : i + 1]
        )
        assert fast[i] == pytest.approx(slow[0], rel=1e-12)


@pytest.mark.parametrize("k", [4, 16])
def test_kriging_leave_one_out_equals_refitting(field: Data, k: int) -> None:
    coords, values = field
    weights = np.linspace(0.3, 1.0, len(values))
    fast, fast_var = loo_predictions(KrigingModel(coords, values, weights, TRUE_VARIOGRAM, k))
    for i in range(0, len(values), 37):
        others = np.arange(len(values)) != i
        refit = KrigingModel(coords[others], values[others], weights[others], TRUE_VARIOGRAM, k)
        slow, slow_var = refit.predict(coords[i : i + 1])
        assert fast[i] == pytest.approx(slow[0], rel=1e-9)
        assert fast_var[i] == pytest.approx(slow_var[0], rel=1e-9)


def test_kriging_variance_is_calibrated_with_the_true_variogram() -> None:
    coords, fields = simulate(TRUE_VARIOGRAM, n=300, realizations=4, seed=21)
    msse = [
        leave_one_out(KrigingModel(coords, f, np.ones(300), TRUE_VARIOGRAM)).msse for f in fields
    ]
    assert all(m is not None for m in msse)
    assert float(np.mean([m for m in msse if m is not None])) == pytest.approx(1.0, abs=0.2)


def test_idw_has_no_msse(field: Data) -> None:
    coords, values = field
    scores = leave_one_out(IDWModel(coords, values, np.ones(len(values))))
    assert scores.msse is None
    assert scores.n == len(values) and scores.rmse > 0.0


def test_leave_one_out_skips_a_coinciding_twin_only_for_itself() -> None:
    coords = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    est, _ = loo_predictions(IDWModel(coords, [1.0, 3.0, 5.0], np.ones(3), IDWParams(k=1)))
    np.testing.assert_array_equal(est[:2], [3.0, 1.0])  # each twin sees the other


def test_leave_one_out_needs_two_samples() -> None:
    with pytest.raises(GeoError):
        loo_predictions(IDWModel([[0.0, 0.0, 0.0]], [1.0], [1.0]))
