"""Shared data for the interpolation tests: simulated fields and the Meuse data set."""

from __future__ import annotations

import numpy as np
import pytest
import skgstat
from numpy.typing import NDArray
from scipy.spatial.distance import cdist

from geo.interpolate.variogram import Variogram

FloatArray = NDArray[np.float64]

TRUE_VARIOGRAM = Variogram("exponential", psill=1.0, range_m=30.0, nugget=0.1)
"""The covariance the simulated fields are drawn from (PyKrige's range convention)."""


def simulate(
    variogram: Variogram,
    n: int = 400,
    size_m: float = 150.0,
    realizations: int = 1,
    seed: int = 7,
) -> tuple[FloatArray, FloatArray]:
    """Gaussian random fields with ``variogram`` at ``n`` uniform points in 2D (z = 0).

    Drawn exactly through the Cholesky factor of the covariance ``sill - gamma(h)``
    (the nugget on the diagonal only). Returns coords ``(n, 3)`` and values
    ``(realizations, n)``, independent realizations at the same points.
    """
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, size_m, size=(n, 2))
    cov = variogram.sill - variogram(cdist(xy, xy))
    values = (np.linalg.cholesky(cov) @ rng.standard_normal((n, realizations))).T
    return np.column_stack((xy, np.zeros(n))), values


def meuse() -> tuple[FloatArray, FloatArray]:
    """Meuse topsoil zinc: coords (155, 3) in metres with z = 0, and log(zinc)."""
    xy, zinc = skgstat.data.meuse()["sample"]
    coords = np.column_stack((np.asarray(xy, dtype=np.float64), np.zeros(len(xy))))
    return coords, np.log(np.asarray(zinc, dtype=np.float64).ravel())


@pytest.fixture(scope="session")
def field() -> tuple[FloatArray, FloatArray]:
    """One simulated field: coords (400, 3) and values (400,), see :func:`simulate`."""
    coords, values = simulate(TRUE_VARIOGRAM)
    return coords, values[0]


@pytest.fixture(scope="session")
def meuse_data() -> tuple[FloatArray, FloatArray]:
    """See :func:`meuse`."""
    return meuse()
