"""The geometric half of :mod:`geo.zones`: band polygons from a grid, and the grid
cells under a polygon.

Contouring is contourpy's, every polygon operation is shapely's; nothing here walks
cells or clips rings by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import contourpy
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geo.grid import Grid, GridSpec

__all__ = ["CellStats", "band_polygons", "cell_stats", "polygonal_parts"]

FloatArray = NDArray[np.float64]

CellStats = tuple[float, float, float]
"""``(mean_intensity, max_intensity, mean_std_error)`` of the cells under a polygon."""


def band_polygons(
    grid: Grid,
    thresholds: Sequence[float],
    simplify_m: float,
    margin_m: float,
    min_area_m2: float,
) -> list[list[Polygon]]:
    """Non-overlapping polygons of each severity band, in the grid's CRS.

    For each threshold ``t_b`` the superlevel set ``{values >= t_b}`` is contoured
    (contourpy ``filled`` between ``t_b`` and a level above the field's maximum, on
    cell centres, NaN cells masked), made valid, simplified by ``simplify_m``,
    buffered by ``margin_m``, and parts below ``min_area_m2`` dropped: ``S_b``. Band
    ``b`` is then ``S_b`` minus the union of ``S_k`` for every ``k > b``; its
    connected parts of at least ``min_area_m2`` are returned, oriented
    counter-clockwise.

    Returns
    -------
    list of list of Polygon
        One list per threshold, lowest band first; empty lists when nothing reaches
        a threshold.
    """
    supers = [_superlevel(grid, t, simplify_m, margin_m, min_area_m2) for t in thresholds]
    bands: list[list[Polygon]] = []
    for b, region in enumerate(supers):
        higher = [s for s in supers[b + 1 :] if not s.is_empty]
        if higher and not region.is_empty:
            region = shapely.difference(region, shapely.union_all(higher))
        parts = polygonal_parts(region)
        bands.append([orient(p, 1.0) for p in parts if p.area >= min_area_m2])
    return bands


def _superlevel(
    grid: Grid, level: float, simplify_m: float, margin_m: float, min_area_m2: float
) -> BaseGeometry:
    """``S_b``: the buffered region where the field reaches ``level``."""
    values = grid.values
    finite = np.isfinite(values)
    if min(grid.spec.shape) < 2 or not finite.any():
        return MultiPolygon()
    top = float(np.max(values[finite]))
    if top < level:
        return MultiPolygon()
    xs, ys = grid.spec.cell_centres()
    # contourpy is given y increasing: flip the north-first rows.
    z = np.ma.masked_array(values[::-1], mask=~finite[::-1])
    generator = contourpy.contour_generator(
        xs, ys[::-1], z, fill_type=contourpy.FillType.OuterOffset
    )
    # FillType.OuterOffset: a list of point arrays and a list of ring-offset arrays.
    points, offsets = cast(
        tuple[list[FloatArray], list[NDArray[np.uint32]]], generator.filled(level, top + 1.0)
    )
    contours: list[Polygon] = []
    for pts, offs in zip(points, offsets, strict=True):
        shell, *holes = (pts[offs[i] : offs[i + 1]] for i in range(len(offs) - 1))
        contours.append(Polygon(shell, holes))
    # Repair, simplify and buffer each contour polygon on its own (vectorized and much
    # faster than on one big MultiPolygon), then merge.
    polygons = np.array(contours, dtype=object)
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons[invalid] = shapely.make_valid(polygons[invalid])
    parts = np.array([p for g in polygons for p in _flatten_polygons(g)], dtype=object)
    shaped = shapely.buffer(shapely.simplify(parts, simplify_m, preserve_topology=True), margin_m)
    merged = shapely.union_all(shaped)
    return MultiPolygon([p for p in polygonal_parts(merged) if p.area >= min_area_m2])


def polygonal_parts(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty Polygon parts of any geometry (lines and points of a collection
    produced by ``make_valid`` or ``difference`` are dropped)."""
    if geom.is_empty:
        return []
    return _flatten_polygons(geom if geom.is_valid else shapely.make_valid(geom))


def _flatten_polygons(geom: BaseGeometry) -> list[Polygon]:
    out: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            if not part.is_empty:
                out.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_flatten_polygons(part))
    return out


def cell_stats(grid: Grid, std_error: FloatArray, polygon: Polygon) -> CellStats | None:
    """Mean and maximum value and mean standard error of the cells under ``polygon``.

    The cells are those whose centre lies inside the polygon (boundary included) and
    whose value is finite. A polygon too small to hold any centre uses the cells its
    outline touches instead. ``None`` when no finite cell lies under it.
    ``std_error`` is ``grid.std_error``, computed once by the caller; a NaN standard
    error where the value is finite counts as 0.
    """
    rows, cols = _cells_under(grid.spec, polygon, touched=False)
    values = grid.values[rows, cols]
    if not np.isfinite(values).any():
        rows, cols = _cells_under(grid.spec, polygon, touched=True)
        values = grid.values[rows, cols]
    keep = np.isfinite(values)
    if not keep.any():
        return None
    se = np.nan_to_num(std_error[rows, cols][keep], nan=0.0, posinf=0.0)
    return float(values[keep].mean()), float(values[keep].max()), float(se.mean())


def _cells_under(
    spec: GridSpec, polygon: Polygon, *, touched: bool
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row and column indices of cells with centre inside (or square touching) it."""
    xs, ys = spec.cell_centres()
    half = spec.resolution_m / 2.0 if touched else 0.0
    minx, miny, maxx, maxy = polygon.bounds
    cols = np.flatnonzero((xs >= minx - half) & (xs <= maxx + half))
    rows = np.flatnonzero((ys >= miny - half) & (ys <= maxy + half))
    if cols.size == 0 or rows.size == 0 or math.isnan(minx):
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    grid_rows, grid_cols = np.meshgrid(rows, cols, indexing="ij")
    rr, cc = grid_rows.ravel(), grid_cols.ravel()
    if touched:
        boxes = shapely.box(xs[cc] - half, ys[rr] - half, xs[cc] + half, ys[rr] + half)
        inside = shapely.intersects(polygon, boxes)
    else:
        shapely.prepare(polygon)
        inside = shapely.intersects_xy(polygon, xs[cc], ys[rr])
    return rr[inside], cc[inside]
