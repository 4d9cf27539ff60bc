"""The exported area in the district's local frame, and the field cut to it."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.crs import LocalFrame
from geo.errors import OutsideDistrict
from geo.export.spec import BBox
from geo.grid import Grid, GridSpec

__all__ = ["area_local", "bbox_to_local", "crop_grid", "local_bbox_polygon"]

_DENSIFY = 16


def local_bbox_polygon(bbox_wgs84: BBox, frame: LocalFrame) -> BaseGeometry:
    """The lon/lat bbox as a polygon in ``frame`` (edges densified: they curve there)."""
    west, south, east, north = bbox_wgs84
    step_deg = min(east - west, north - south) / _DENSIFY
    ring = np.asarray(shapely.segmentize(box(west, south, east, north), step_deg).exterior.coords)
    x, y = frame.to_local(ring[:, 0], ring[:, 1])
    return Polygon(np.column_stack([x, y]))


def bbox_to_local(bbox_wgs84: BBox, frame: LocalFrame) -> tuple[float, float, float, float]:
    """Bounds (minx, miny, maxx, maxy), metres, of a lon/lat bbox in ``frame``."""
    minx, miny, maxx, maxy = local_bbox_polygon(bbox_wgs84, frame).bounds
    return (float(minx), float(miny), float(maxx), float(maxy))


def area_local(
    grid: Grid, frame: LocalFrame, bbox_wgs84: BBox
) -> tuple[float, float, float, float]:
    """Bounds (metres, ``frame``) of the part of a lon/lat bbox that the field's grid covers.

    Beyond the grid there is nothing to draw or package (every tower lies inside it).

    Raises
    ------
    OutsideDistrict
        If the bbox does not overlap the grid (``field="bbox"``).
    """
    gx0, gy0, gx1, gy1 = grid.spec.bounds_m
    x0, y0, x1, y1 = bbox_to_local(bbox_wgs84, frame)
    out = (max(x0, gx0), max(y0, gy0), min(x1, gx1), min(y1, gy1))
    if out[0] >= out[2] or out[1] >= out[3]:
        raise OutsideDistrict("does not overlap the blight field", "bbox")
    return out


def crop_grid(grid: Grid, bounds_m: tuple[float, float, float, float]) -> Grid:
    """The cells of ``grid`` that overlap ``bounds_m`` (same CRS), as a smaller grid.

    Cells are kept whole, so the result is aligned with the original grid.

    Raises
    ------
    OutsideDistrict
        If the bounds do not overlap the grid (``field="bbox"``).
    """
    spec = grid.spec
    if not box(*bounds_m).intersects(box(*spec.bounds_m)):
        raise OutsideDistrict("does not overlap the blight field", "bbox")
    res = spec.resolution_m
    col0 = min(spec.width - 1, max(0, math.floor((bounds_m[0] - spec.west_m) / res)))
    col1 = min(spec.width, math.ceil((bounds_m[2] - spec.west_m) / res))
    row0 = min(spec.height - 1, max(0, math.floor((spec.north_m - bounds_m[3]) / res)))
    row1 = min(spec.height, math.ceil((spec.north_m - bounds_m[1]) / res))
    col1, row1 = max(col1, col0 + 1), max(row1, row0 + 1)
    cropped = GridSpec(
        spec.crs,
        spec.west_m + col0 * res,
        spec.north_m - row0 * res,
        res,
        col1 - col0,
        row1 - row0,
    )
    return Grid(
        cropped,
        np.ascontiguousarray(grid.values[row0:row1, col0:col1]),
        np.ascontiguousarray(grid.variance[row0:row1, col0:col1]),
    )
