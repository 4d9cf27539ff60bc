"""Infection fronts: where the forecast probability of blight reaches a level, per day.

A forecast (:func:`geo.forecast.ensemble.ensemble`) gives, for each day and host
(tower tier), the probability that the host is infected. :func:`probability_grid`
spreads the per-tower probability over a raster, and :func:`forecast_fronts` contours
it into one :class:`Front` per day and level: the region where the probability is at
least that level. Contouring is :func:`geo.zone_geometry.band_polygons`' (contourpy);
polygon work is shapely's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon, Polygon, mapping

from geo.crs import LocalFrame
from geo.errors import InvalidCRS, InvalidParameter
from geo.forecast.model import Hosts
from geo.grid import Grid, GridSpec
from geo.zone_geometry import band_polygons, polygonal_parts

__all__ = ["Front", "forecast_fronts", "probability_grid"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Front:
    """The region where the forecast probability of blight reaches ``level`` on ``day``.

    Attributes
    ----------
    day : int
        Forecast day (0 = the start state).
    level : float
        Probability level in (0, 1].
    geometry_local : Polygon or MultiPolygon
        The region in the district's local metric frame (valid).
    geometry_wgs84 : Polygon or MultiPolygon
        The same region in lon/lat (valid).
    area_m2 : float
        Area of ``geometry_local``, square metres.
    towers : tuple of str
        Ids of the towers whose centroid lies in or on the region, sorted.
    """

    day: int
    level: float
    geometry_local: Polygon | MultiPolygon
    geometry_wgs84: Polygon | MultiPolygon
    area_m2: float
    towers: tuple[str, ...]

    def properties(self) -> dict[str, Any]:
        """JSON-safe GeoJSON properties."""
        return {
            "day": self.day,
            "level": self.level,
            "area_m2": self.area_m2,
            "towers": list(self.towers),
        }

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature with the WGS84 geometry and :meth:`properties`."""
        return {
            "type": "Feature",
            "geometry": mapping(self.geometry_wgs84),
            "properties": self.properties(),
        }


def _tower_points(hosts: Hosts) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Tower indices present among the hosts, their x and y, and each host's position."""
    _, first, pos = np.unique(hosts.tower_index, return_index=True, return_inverse=True)
    return pos.astype(np.int64), hosts.x_m[first], hosts.y_m[first]


def probability_grid(
    hosts: Hosts,
    probability_per_host: npt.ArrayLike,
    spec: GridSpec,
    k: int = 8,
    power: float = 2.0,
    max_distance_m: float = 150.0,
) -> FloatArray:
    """The probability of blight spread from the towers onto the cells of a grid.

    Each tower takes the largest probability of its tiers. A cell centre gets the
    inverse-distance-weighted mean (weights ``d ** -power``) of the ``k`` nearest
    towers within ``max_distance_m`` (a :class:`scipy.spatial.cKDTree` of tower
    centroids); a centre on a tower takes that tower's value. Cells farther than
    ``max_distance_m`` from every tower are 0: no tower, no blight. The field thus
    drops from the nearest towers' value to 0 at that distance.

    Parameters
    ----------
    hosts : Hosts
        Positions in the grid's CRS (the district's local frame).
    probability_per_host : array_like of float, shape (n,)
        Values in [0, 1].
    spec : GridSpec
    k : int
        Number of towers interpolated from (>= 1).
    power : float
        IDW exponent (> 0).
    max_distance_m : float
        Search radius, metres (> 0).

    Returns
    -------
    numpy.ndarray
        Shape ``spec.shape``, rows north first, values in [0, 1].

    Raises
    ------
    InvalidParameter
        If an argument is out of range or has the wrong shape.

    Examples
    --------
    >>> from pyproj import CRS
    >>> hosts = Hosts([0.0], [0.0], [1.0], [0], [1.0], [0.0], [False])
    >>> spec = GridSpec(CRS.from_epsg(32633), -10.0, 10.0, 10.0, 2, 2)
    >>> probability_grid(hosts, [0.6], spec, max_distance_m=10.0).round(2).tolist()
    [[0.6, 0.6], [0.6, 0.6]]
    """
    p = np.asarray(probability_per_host, dtype=np.float64)
    if p.shape != (hosts.n,):
        raise InvalidParameter(f"must have shape ({hosts.n},)", "probability")
    if not np.all(np.isfinite(p)) or np.any((p < 0.0) | (p > 1.0)):
        raise InvalidParameter("must hold values within [0, 1]", "probability")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidParameter("must be an integer >= 1", "k")
    for name, value in (("power", power), ("max_distance_m", max_distance_m)):
        if not (math.isfinite(value) and value > 0.0):
            raise InvalidParameter("must be a finite number > 0", name)
    pos, tx, ty = _tower_points(hosts)
    tower_p = np.zeros(tx.size)
    np.maximum.at(tower_p, pos, p)
    kk = min(k, tx.size)
    gx, gy = spec.cell_centre_points()
    dist, idx = cKDTree(np.column_stack((tx, ty))).query(
        np.column_stack((gx, gy)), k=kk, distance_upper_bound=max_distance_m
    )
    dist = np.asarray(dist, dtype=np.float64).reshape(gx.size, kk)
    idx = np.asarray(idx).reshape(gx.size, kk)
    found = np.isfinite(dist)
    values = np.where(found, tower_p[np.minimum(idx, tx.size - 1)], 0.0)
    with np.errstate(divide="ignore"):
        weights = np.where(found, np.maximum(dist, 1e-12) ** -power, 0.0)
    total = weights.sum(axis=1)
    out = np.divide((weights * values).sum(axis=1), total, out=np.zeros(gx.size), where=total > 0.0)
    return np.asarray(np.clip(out, 0.0, 1.0).reshape(spec.shape), dtype=np.float64)


def forecast_fronts(
    hosts: Hosts,
    probability: npt.ArrayLike,
    spec: GridSpec,
    frame: LocalFrame,
    levels: Sequence[float] = (0.5, 0.9),
    days: Sequence[int] | None = None,
    margin_m: float = 0.0,
    min_area_m2: float = 25.0,
) -> list[Front]:
    """The fronts of a forecast: per day and level, where the probability reaches it.

    For each day the per-host probability becomes a field by :func:`probability_grid`
    (default parameters); for each level its superlevel set ``{p >= level}`` is
    contoured by :func:`geo.zone_geometry.band_polygons` (one threshold, no
    simplification), buffered by ``margin_m``, and parts smaller than ``min_area_m2``
    are dropped. Since superlevel sets nest, a higher level's front lies within a
    lower level's front of the same day (up to ``min_area_m2`` filtering).

    Parameters
    ----------
    hosts : Hosts
        Positions in ``frame``.
    probability : array_like of float, shape (days + 1, n)
        Probability of infection per day and host (e.g.
        :attr:`geo.forecast.ensemble.EnsembleResult` probabilities), in [0, 1].
    spec : GridSpec
        Grid to contour on, in ``frame``'s CRS.
    frame : LocalFrame
    levels : sequence of float
        Probability levels in (0, 1].
    days : sequence of int, optional
        Days to contour (rows of ``probability``); all of them by default.
    margin_m : float
        Buffer around each front, metres (>= 0).
    min_area_m2 : float
        Smallest part kept, square metres (>= 0).

    Returns
    -------
    list of Front
        Ordered by day, then by level as given; a (day, level) with no region has no
        front.

    Raises
    ------
    InvalidCRS
        If the grid is not in the frame's CRS.
    InvalidParameter
        If an argument is out of range or has the wrong shape.
    """
    if not spec.crs.equals(frame.crs, ignore_axis_order=True):
        raise InvalidCRS("the grid must be in the frame's CRS", "spec")
    prob = np.asarray(probability, dtype=np.float64)
    if prob.ndim != 2 or prob.shape[1] != hosts.n or prob.shape[0] < 1:
        raise InvalidParameter(f"must have shape (days + 1, {hosts.n})", "probability")
    level_list = [float(v) for v in levels]
    if not all(math.isfinite(v) and 0.0 < v <= 1.0 for v in level_list):
        raise InvalidParameter("must be within (0, 1]", "levels")
    day_list = list(range(prob.shape[0])) if days is None else [int(d) for d in days]
    if any(not 0 <= d < prob.shape[0] for d in day_list):
        raise InvalidParameter(f"must be within [0, {prob.shape[0] - 1}]", "days")
    for name, value in (("margin_m", margin_m), ("min_area_m2", min_area_m2)):
        if not (math.isfinite(value) and value >= 0.0):
            raise InvalidParameter("must be a finite number >= 0", name)
    _, tx, ty = _tower_points(hosts)
    present = np.unique(hosts.tower_index)
    zeros = np.zeros(spec.shape)
    fronts: list[Front] = []
    for day in day_list:
        grid = Grid(spec, probability_grid(hosts, prob[day], spec), zeros)
        for level in level_list:
            parts = band_polygons(grid, [level], 0.0, margin_m, min_area_m2)[0]
            if not parts:
                continue
            local = _polygonal(shapely.union_all(parts))
            inside = shapely.intersects_xy(local, tx, ty)
            ids = tuple(sorted(hosts.tower_ids[int(t)] for t in present[inside]))
            fronts.append(
                Front(
                    day=day,
                    level=level,
                    geometry_local=local,
                    geometry_wgs84=_polygonal(frame.geometry_to_wgs84(local)),
                    area_m2=float(local.area),
                    towers=ids,
                )
            )
    return fronts


def _polygonal(geom: shapely.Geometry) -> Polygon | MultiPolygon:
    """A valid Polygon or MultiPolygon of the polygonal parts of ``geom``."""
    if isinstance(geom, Polygon | MultiPolygon) and geom.is_valid:
        return geom
    parts = polygonal_parts(geom)
    merged = shapely.union_all(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())
    if isinstance(merged, Polygon | MultiPolygon):
        return merged
    return MultiPolygon(polygonal_parts(merged))
