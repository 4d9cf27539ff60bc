"""The field as the print sheet shows it: images at the sheet's DPI, resampled.

At 1:4,000 a 5 m cell is 1.25 mm of paper, 15 pixels at 300 dpi: drawn cell by cell
it prints as stair steps. Here every printed pixel takes the field's value at its
centre, interpolated bilinearly between cell centres exactly as the map tiles do
(:func:`geo.tiles.raster.sample_cells`), then its colour from the layer's colormap;
where the field has no estimate the paper stays white (or shows the basemap).
``resampling="nearest"`` gives the cell blocks, for comparison.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from geo.colormap import colormap
from geo.grid import Grid
from geo.tiles.raster import Band, Resampling, sample_cells

__all__ = ["LAYER_COLORMAP", "field_strips"]

LAYER_COLORMAP = {"blight": "intensity", "uncertainty": "uncertainty"}
"""Raster layer -> its colormap in :mod:`geo.colormap`."""

_STRIP_PX = 8_000_000

Strip = tuple[np.ndarray, tuple[float, float, float, float]]


def field_strips(
    grid: Grid, layer: str, cell_px: int, resampling: Resampling = "bilinear"
) -> Iterator[Strip]:
    """The layer as RGBA strips (image, extent ``(left, right, bottom, top)`` in metres),
    ``cell_px`` pixels to a cell; transparent where there is no estimate.

    Strips of at most about 8 million pixels keep matplotlib's per-image working copies
    small: an A2 sheet at 600 dpi holds about 75 million.
    """
    spec = grid.spec
    cmap = colormap(LAYER_COLORMAP[layer])
    band = Band(spec, grid.values if layer == "blight" else grid.std_error)
    rows_per_strip = max(1, _STRIP_PX // (spec.width * cell_px * cell_px))
    minx, _, maxx, _ = spec.bounds_m
    # fractional cell-centre index of every pixel centre along a row / down a column
    cols = ((np.arange(spec.width * cell_px) + 0.5) / cell_px - 0.5).astype(np.float32)
    for row0 in range(0, spec.height, rows_per_strip):
        n_rows = min(rows_per_strip, spec.height - row0)
        rows = ((np.arange(n_rows * cell_px) + 0.5) / cell_px - 0.5 + row0).astype(np.float32)
        fc, fr = np.meshgrid(cols, rows)
        values = sample_cells(band, fc, fr, resampling)
        top = spec.north_m - row0 * spec.resolution_m
        yield cmap.rgba(values), (minx, maxx, top - n_rows * spec.resolution_m, top)
