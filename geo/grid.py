"""Raster grids in a local metric CRS: geometry (:class:`GridSpec`) and data (:class:`Grid`).

Rows run north to south, as in GeoTIFF: cell ``(row, col)`` has its centre at
``x = west_m + (col + 0.5) * resolution_m``, ``y = north_m - (row + 0.5) * resolution_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS

from geo.errors import GeoError

__all__ = ["Grid", "GridSpec"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GridSpec:
    """Where the cells of a grid are.

    Attributes
    ----------
    crs : pyproj.CRS
        A projected CRS in metres (the district's local frame).
    west_m, north_m : float
        Coordinates of the grid's outer north-west corner, metres.
    resolution_m : float
        Side of a square cell, metres.
    width, height : int
        Number of columns and rows.
    """

    crs: CRS
    west_m: float
    north_m: float
    resolution_m: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.resolution_m > 0 and math.isfinite(self.resolution_m)):
            raise GeoError("must be a positive number of metres", "resolution_m")
        if self.width < 1 or self.height < 1:
            raise GeoError("a grid needs at least one row and one column", "width")

    @classmethod
    def covering(
        cls,
        crs: CRS,
        bounds_m: tuple[float, float, float, float],
        resolution_m: float,
        pad_m: float = 0.0,
        max_cells: int = 25_000_000,
    ) -> GridSpec:
        """The grid of ``resolution_m`` cells covering ``bounds_m`` plus ``pad_m`` on each side.

        The corner is snapped to a multiple of the resolution so that grids of the
        same district line up from one computation to the next.

        Raises
        ------
        GeoError
            If the resolution is not positive or the grid would exceed ``max_cells``.
        """
        if not (resolution_m > 0 and math.isfinite(resolution_m)):
            raise GeoError("must be a positive number of metres", "resolution_m")
        minx, miny, maxx, maxy = bounds_m
        west = math.floor((minx - pad_m) / resolution_m) * resolution_m
        south = math.floor((miny - pad_m) / resolution_m) * resolution_m
        east = math.ceil((maxx + pad_m) / resolution_m) * resolution_m
        north = math.ceil((maxy + pad_m) / resolution_m) * resolution_m
        width = max(1, round((east - west) / resolution_m))
        height = max(1, round((north - south) / resolution_m))
        if width * height > max_cells:
            raise GeoError(
                f"{width} x {height} cells exceed the limit of {max_cells}; use a coarser grid",
                "resolution_m",
            )
        return cls(crs, west, north, resolution_m, width, height)

    @property
    def transform(self) -> Affine:
        """Affine transform from (col, row) to (x, y) of cell corners, GDAL convention."""
        return Affine(self.resolution_m, 0.0, self.west_m, 0.0, -self.resolution_m, self.north_m)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return (self.height, self.width)

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """Outer bounds (minx, miny, maxx, maxy) in the grid's CRS."""
        return (
            self.west_m,
            self.north_m - self.height * self.resolution_m,
            self.west_m + self.width * self.resolution_m,
            self.north_m,
        )

    def cell_centres(self) -> tuple[FloatArray, FloatArray]:
        """1-D arrays of the cell-centre x (per column) and y (per row, north first)."""
        xs = self.west_m + (np.arange(self.width, dtype=np.float64) + 0.5) * self.resolution_m
        ys = self.north_m - (np.arange(self.height, dtype=np.float64) + 0.5) * self.resolution_m
        return xs, ys

    def cell_centre_points(self) -> tuple[FloatArray, FloatArray]:
        """Flattened x and y of every cell centre, row-major (length width*height)."""
        xs, ys = self.cell_centres()
        gx, gy = np.meshgrid(xs, ys)
        return gx.ravel(), gy.ravel()

    def index_of(
        self, x_m: FloatArray, y_m: FloatArray
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        """Row, column and an inside-the-grid mask for points in the grid's CRS."""
        col = np.floor((np.asarray(x_m) - self.west_m) / self.resolution_m).astype(np.int64)
        row = np.floor((self.north_m - np.asarray(y_m)) / self.resolution_m).astype(np.int64)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        return row, col, inside


@dataclass(frozen=True, slots=True)
class Grid:
    """Values and their kriging/estimation variance on a :class:`GridSpec`.

    ``values`` and ``variance`` have shape ``spec.shape``; cells without an estimate
    are NaN in both (never in an HTTP response: the service masks them).
    """

    spec: GridSpec
    values: FloatArray
    variance: FloatArray

    def __post_init__(self) -> None:
        if self.values.shape != self.spec.shape or self.variance.shape != self.spec.shape:
            raise GeoError("values and variance must have the grid's shape", "values")

    @property
    def std_error(self) -> FloatArray:
        """Standard error (square root of the variance, negative round-off clipped to 0)."""
        return np.sqrt(np.clip(self.variance, 0.0, None))

    def sample(self, x_m: FloatArray, y_m: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Value and standard error of the cells holding the points (NaN outside the grid)."""
        row, col, inside = self.spec.index_of(x_m, y_m)
        values = np.full(np.shape(x_m), np.nan)
        se = np.full(np.shape(x_m), np.nan)
        values[inside] = self.values[row[inside], col[inside]]
        se[inside] = self.std_error[row[inside], col[inside]]
        return values, se
