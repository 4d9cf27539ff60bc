"""The served field against well-fitted ordinary kriging on public data with a known truth.

scikit-gstat ships two 500 x 500 images offline (``skgstat.data``): a photographed
pancake and an anisotropic Gaussian random field made with gstools, each with a
random sample of pixels. The samples become intensities (grey / 255) and go through
:func:`~geo.interpolate.interpolate` as the service runs it (``method="auto"``); the
reference is ordinary kriging by other libraries: scikit-gstat fits the variogram
(spherical and exponential, the better fit kept) and PyKrige kriges with all samples.
Both are scored against every 8th pixel of the exhaustive image. Meuse has no
exhaustive truth: there both are scored by leave-one-out (the reference with
scikit-gstat's variogram in the textbook kriging system, refitted without each sample).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import skgstat
import skgstat.data
from pykrige.ok import OrdinaryKriging
from pyproj import CRS

from geo.grid import GridSpec
from geo.interpolate import InterpolationResult, Samples, Variogram, interpolate
from tests.geo.interpolate.conftest import FloatArray, meuse
from tests.geo.interpolate.test_kriging import reference_kriging as textbook_kriging

ORIGIN = np.array([500_000.0, 5_800_000.0])
SPEC = GridSpec.covering(CRS.from_epsg(32631), (*ORIGIN, *(ORIGIN + 10.0)), 5.0)
TOLERANCE = 1.02


def served(xy: FloatArray, grey: FloatArray, targets: FloatArray) -> InterpolationResult:
    """The service's path on intensities ``grey / 255`` at 2D ``targets``."""
    p = grey / 255.0
    x, y = (xy + ORIGIN).T
    samples = Samples.from_arrays(x, y, p, z_m=np.zeros(len(p)))
    extra = np.column_stack((targets + ORIGIN, np.zeros(len(targets))))
    return interpolate(samples, SPEC, extra, method="auto")


def reference_variogram(xy: FloatArray, values: FloatArray) -> dict[str, Any]:
    """scikit-gstat's fit: the better of spherical and exponential by its fit RMSE."""
    fits = []
    for model in ("spherical", "exponential"):
        v = skgstat.Variogram(xy, values, model=model, n_lags=15, maxlag="median")
        rng, sill, nugget = (float(x) for x in v.parameters[:3])
        fits.append((v.rmse, model, {"psill": sill, "range": rng, "nugget": nugget}))
    _, model, params = min(fits, key=lambda f: f[0])
    return {"variogram_model": model, "variogram_parameters": params}


def reference_kriging(xy: FloatArray, values: FloatArray, targets: FloatArray) -> FloatArray:
    ok = OrdinaryKriging(xy[:, 0], xy[:, 1], values, **reference_variogram(xy, values))
    z, _ = ok.execute("points", targets[:, 0], targets[:, 1], backend="vectorized")
    return np.asarray(z)


def rmse(a: FloatArray, b: FloatArray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize(
    ("sample", "image"),
    [
        (skgstat.data.pancake, skgstat.data.pancake_field),
        (skgstat.data.aniso, skgstat.data.aniso_field),
    ],
    ids=["pancake", "aniso"],
)
def test_served_field_is_within_2_percent_of_well_fitted_kriging(
    sample: Callable[..., Any], image: Callable[..., Any]
) -> None:
    xy_int, grey = sample(N=300, seed=42)["sample"]
    truth_image = np.asarray(image()["sample"], dtype=np.float64)
    xy, grey = np.asarray(xy_int, dtype=np.float64), np.asarray(grey, dtype=np.float64)
    assert np.all(truth_image[xy_int[:, 0], xy_int[:, 1]] == grey)  # samples are pixels
    ii, jj = np.meshgrid(np.arange(3, 500, 8), np.arange(3, 500, 8), indexing="ij")
    targets = np.column_stack((ii.ravel(), jj.ravel())).astype(np.float64)
    truth = truth_image[ii.ravel(), jj.ravel()]

    result = served(xy, grey, targets)
    ours = rmse(255.0 * result.targets_value, truth)
    theirs = rmse(reference_kriging(xy, grey, targets), truth)
    assert result.method == "kriging"
    assert ours <= TOLERANCE * theirs, f"served RMSE {ours:.3f} against {theirs:.3f}"
    assert result.targets_value.min() >= 0.0 and result.targets_value.max() <= 1.0


def test_meuse_leave_one_out_within_2_percent_of_well_fitted_kriging() -> None:
    coords, log_zinc = meuse()
    xy = coords[:, :2]
    lo, hi = float(log_zinc.min()), float(log_zinc.max())
    grey = 255.0 * (log_zinc - lo) / (hi - lo)  # intensities spanning all of [0, 1]
    result = served(xy - xy.min(axis=0), grey, np.empty((0, 2)))
    ours = result.cv["kriging"].rmse * 255.0
    fit = reference_variogram(xy, grey)
    params = fit["variogram_parameters"]
    variogram = Variogram(
        fit["variogram_model"], params["psill"], params["range"], params["nugget"]
    )  # scikit-gstat's spherical/exponential ranges are PyKrige's (and ours)
    loo = np.empty(len(grey))
    for i in range(len(grey)):  # the textbook system without sample i, all others
        keep = np.arange(len(grey)) != i
        est, _ = textbook_kriging(
            coords[keep], grey[keep], variogram, coords[i : i + 1], len(grey) - 1
        )
        loo[i] = est[0]
    theirs = rmse(loo, grey)
    assert ours <= TOLERANCE * theirs, f"served LOO RMSE {ours:.3f} against {theirs:.3f}"
