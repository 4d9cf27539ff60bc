"""The Meuse zinc data (log-transformed): our kriging against PyKrige's.

PyKrige gets the same variogram (fixed through ``variogram_parameters``, as a dict:
its list form means [full sill, range, nugget], not the partial sill) and the same
``n_closest_points``; in 2D, where the vertical scale plays no part.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from pykrige.ok import OrdinaryKriging

from geo.interpolate.kriging import KrigingModel
from geo.interpolate.validate import leave_one_out, loo_predictions
from geo.interpolate.variogram import Variogram, fit_variogram
from tests.geo.interpolate.conftest import FloatArray

Data = tuple[FloatArray, FloatArray]


@pytest.fixture(scope="module")
def variogram(meuse_data: Data) -> Variogram:
    coords, values = meuse_data
    return fit_variogram(coords, values, "auto")


def pykrige_model(coords: FloatArray, values: FloatArray, variogram: Variogram) -> OrdinaryKriging:
    return OrdinaryKriging(
        coords[:, 0],
        coords[:, 1],
        values,
        variogram_model=variogram.model,
        variogram_parameters={
            "psill": variogram.psill,
            "range": variogram.range_m,
            "nugget": variogram.nugget,
        },
    )


def pykrige_loo(coords: FloatArray, values: FloatArray, variogram: Variogram, k: int) -> NDArray:
    """Leave-one-out the slow way: PyKrige refitted on n - 1 points, n times."""
    out = np.empty(len(values))
    for i in range(len(values)):
        others = np.arange(len(values)) != i
        ok = pykrige_model(coords[others], values[others], variogram)
        z, _ = ok.execute(
            "points", coords[i : i + 1, 0], coords[i : i + 1, 1], n_closest_points=k, backend="loop"
        )
        out[i] = z[0]
    return out


def test_the_fitted_variogram_is_the_textbook_one(variogram: Variogram) -> None:
    # log(zinc) on Meuse: a nugget well under the partial sill, a range near 1 km.
    assert 500.0 < variogram.range_m < 1500.0
    assert variogram.nugget < 0.25 * variogram.psill
    assert 0.4 < variogram.sill < 0.8


@pytest.mark.parametrize("k", [8, 16])
def test_leave_one_out_matches_pykrige(meuse_data: Data, variogram: Variogram, k: int) -> None:
    coords, values = meuse_data
    model = KrigingModel(coords, values, np.ones(len(values)), variogram, k)
    ours, _ = loo_predictions(model)
    theirs = pykrige_loo(coords, values, variogram, k)
    rmse_ours = leave_one_out(model).rmse
    rmse_theirs = float(np.sqrt(np.mean((theirs - values) ** 2)))
    assert rmse_ours == pytest.approx(rmse_theirs, rel=0.02)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


@pytest.mark.parametrize("k", [8, 16, 40])
def test_predictions_and_variances_match_pykrige(
    meuse_data: Data, variogram: Variogram, k: int
) -> None:
    coords, values = meuse_data
    xs = np.linspace(178_700.0, 181_500.0, 9)
    ys = np.linspace(329_800.0, 333_600.0, 9)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    targets = np.column_stack((gx, gy, np.zeros(gx.size)))
    ours, ours_var = KrigingModel(coords, values, np.ones(len(values)), variogram, k).predict(
        targets
    )
    theirs, theirs_var = pykrige_model(coords, values, variogram).execute(
        "points", gx, gy, n_closest_points=k, backend="loop"
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    np.testing.assert_allclose(ours_var, theirs_var, rtol=1e-7, atol=1e-10)


def test_msse_is_near_one(meuse_data: Data, variogram: Variogram) -> None:
    coords, values = meuse_data
    scores = leave_one_out(KrigingModel(coords, values, np.ones(len(values)), variogram))
    assert scores.msse is not None
    assert 0.6 < scores.msse < 1.6
    assert scores.n == len(values)
