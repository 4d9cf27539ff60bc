"""A synthetic field near Utrecht (UTM 31N) whose values are known everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS

from geo.grid import Grid, GridSpec

UTM31 = CRS.from_epsg(32631)
CENTRE_LONLAT = (5.1214, 52.0907)
SLOPE_X, SLOPE_Y = 1.0e-3, -0.5e-3  # intensity per metre east / north


def linear_value(x_m: np.ndarray, y_m: np.ndarray, spec: GridSpec) -> np.ndarray:
    """The linear field used by :func:`linear_grid`, at any UTM point."""
    minx, miny, _, _ = spec.bounds_m
    return 0.1 + SLOPE_X * (x_m - minx) + SLOPE_Y * (y_m - miny) + 0.4


def make_spec(resolution_m: float = 5.0, width: int = 160, height: int = 120) -> GridSpec:
    return GridSpec(UTM31, 644_800.0, 5_773_700.0, resolution_m, width, height)


@pytest.fixture
def spec() -> GridSpec:
    """160 x 120 cells of 5 m around the Dom tower."""
    return make_spec()


@pytest.fixture
def linear_grid(spec: GridSpec) -> Grid:
    """Values linear in UTM x and y (bilinear sampling reproduces them exactly)."""
    xs, ys = spec.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    values = linear_value(gx, gy, spec)
    variance = np.full(spec.shape, 0.04)
    return Grid(spec, values, variance)


@pytest.fixture
def random_grid(spec: GridSpec) -> Grid:
    """Uniform random values in [0, 1] with a block of NaN cells (no estimate)."""
    rng = np.random.default_rng(3)
    values = rng.uniform(0.0, 1.0, spec.shape)
    values[40:50, 60:80] = np.nan
    variance = rng.uniform(0.0, 0.2, spec.shape)
    variance[40:50, 60:80] = np.nan
    return Grid(spec, values, variance)
