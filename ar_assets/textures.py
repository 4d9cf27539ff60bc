"""PNG textures of field values through a colormap (one pixel per grid cell)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from geo.colormap import COLORMAPS, Colormap
from geo.errors import InvalidParameter
from geo.grid import Grid, GridSpec

__all__ = ["CellWindow", "cell_window", "heat_patch_png"]


@dataclass(frozen=True, slots=True)
class CellWindow:
    """The grid cells whose centres lie in a rectangle, and their outer bounds.

    Attributes
    ----------
    row_start, row_stop, col_start, col_stop : int
        Half-open ranges of rows (north first) and columns (west first).
    bounds_m : (minx, miny, maxx, maxy)
        Outer edges of those cells in the grid's CRS, metres.
    """

    row_start: int
    row_stop: int
    col_start: int
    col_stop: int
    bounds_m: tuple[float, float, float, float]

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return (self.row_stop - self.row_start, self.col_stop - self.col_start)

    @property
    def empty(self) -> bool:
        """Whether no cell centre lies in the rectangle."""
        return self.shape[0] <= 0 or self.shape[1] <= 0


def cell_window(
    spec: GridSpec, window_m: tuple[float, float, float, float] | None = None
) -> CellWindow:
    """The cells of ``spec`` whose centre lies in ``window_m`` (all cells when None).

    A centre on the west or south edge of the window belongs to it, one on the east
    or north edge does not, so tiles that share an edge share no cell.

    Raises
    ------
    InvalidParameter
        If the window is not finite or has ``minx > maxx`` or ``miny > maxy``.
    """
    if window_m is None:
        return CellWindow(0, spec.height, 0, spec.width, spec.bounds_m)
    minx, miny, maxx, maxy = window_m
    if not all(math.isfinite(v) for v in window_m) or minx > maxx or miny > maxy:
        raise InvalidParameter("must be finite (minx, miny, maxx, maxy) bounds", "window_m")
    res = spec.resolution_m

    def first(offset_cells: float, limit: int) -> int:
        # First column whose centre (index + 0.5 cells) is >= offset_cells.
        return int(min(max(math.ceil(offset_cells - 0.5), 0), limit))

    def after(offset_cells: float, limit: int) -> int:
        # First row whose centre is > offset_cells (rows count southwards).
        return int(min(max(math.floor(offset_cells - 0.5) + 1, 0), limit))

    col_start, col_stop = (first((x - spec.west_m) / res, spec.width) for x in (minx, maxx))
    row_start, row_stop = (after((spec.north_m - y) / res, spec.height) for y in (maxy, miny))
    bounds = (
        spec.west_m + col_start * res,
        spec.north_m - row_stop * res,
        spec.west_m + col_stop * res,
        spec.north_m - row_start * res,
    )
    return CellWindow(row_start, row_stop, col_start, col_stop, bounds)


def heat_patch_png(
    grid: Grid,
    window_m: tuple[float, float, float, float] | None = None,
    colormap: Colormap | None = None,
    *,
    opacity: float = 1.0,
) -> bytes:
    """An RGBA PNG of the grid's values in ``window_m`` through a colormap.

    One pixel per cell; the first row is the northernmost, the first column the
    westernmost (the image lies north-up). NaN cells are fully transparent; the
    others get the colormap's colour with alpha ``opacity * 255``.

    Parameters
    ----------
    grid : Grid
    window_m : (minx, miny, maxx, maxy), optional
        In the grid's CRS; cells whose centre lies inside (see :func:`cell_window`).
        The whole grid when None.
    colormap : Colormap, optional
        The ``intensity`` colormap when None.
    opacity : float
        In [0, 1].

    Raises
    ------
    InvalidParameter
        If no cell centre lies in the window, or the opacity is out of range.
    """
    if not (0.0 <= opacity <= 1.0):
        raise InvalidParameter("must be within [0, 1]", "opacity")
    cmap = colormap if colormap is not None else COLORMAPS["intensity"]
    window = cell_window(grid.spec, window_m)
    if window.empty:
        raise InvalidParameter("no grid cell lies in the window", "window_m")
    values = grid.values[window.row_start : window.row_stop, window.col_start : window.col_stop]
    rgba = cmap.rgba(values)
    rgba[..., 3] = np.where(np.isnan(values), 0, round(opacity * 255)).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(out, format="PNG", optimize=False)
    return out.getvalue()
