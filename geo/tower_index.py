"""A spatial index over a set of towers: bbox, radius and nearest queries.

Two shapely :class:`~shapely.STRtree` s are built once: one over the WGS84 footprints
(for lon/lat bounding-box queries) and one over the footprints projected to a
:class:`~geo.crs.LocalFrame` (for queries in metres). Results are ordered by tower id
(bbox) or by distance then id (radius), so paging over them is stable.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod
from shapely.geometry import Point

from geo.crs import LocalFrame, check_lonlat
from geo.errors import InvalidGeometry, InvalidTower
from geo.layer import Tower

__all__ = ["BBox", "TowerIndex", "check_bbox_wgs84"]

BBox = tuple[float, float, float, float]
"""``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees."""

_GEOD = Geod(ellps="WGS84")

# Points farther than this beyond the towers are measured geodesically (to footprint
# centroids): the local frame distorts, or cannot project, points that far away.
_LOCAL_FRAME_REACH_M = 100_000.0


def check_bbox_wgs84(bbox_wgs84: Sequence[float], field_name: str = "bbox") -> BBox:
    """Check a WGS84 bounding box and return it as a tuple of floats.

    ``min_lon > max_lon`` denotes a box crossing the antimeridian (as in OGC API -
    Features); latitudes must be in order.

    Raises
    ------
    InvalidGeometry
        If it does not have four finite numbers within range, or min_lat > max_lat.
    """
    if len(bbox_wgs84) != 4:
        raise InvalidGeometry(
            "must be four numbers: min_lon, min_lat, max_lon, max_lat", field_name
        )
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox_wgs84)
    check_lonlat(min_lon, min_lat, field_name)
    check_lonlat(max_lon, max_lat, field_name)
    if min_lat > max_lat:
        raise InvalidGeometry("min_lat must not exceed max_lat", field_name)
    return (min_lon, min_lat, max_lon, max_lat)


class TowerIndex:
    """Spatial index over towers with queries in lon/lat and in metres.

    Parameters
    ----------
    towers : sequence of Tower
        Ids must be unique.
    frame : LocalFrame, optional
        Metric frame for distance queries; chosen from the footprints with
        :meth:`LocalFrame.for_geometries` when omitted (None for an empty index).

    Raises
    ------
    InvalidTower
        If two towers share an id (``field="towers.<i>.id"``).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> from geo.layer import Tier, Tower
    >>> t = Tower("T-1", Point(13.40, 52.52), 34.0, 12.0, (Tier(0, 0.0),))
    >>> index = TowerIndex([t])
    >>> [x.id for x in index.query_bbox((13.3, 52.4, 13.5, 52.6))]
    ['T-1']
    >>> tower, distance_m = index.nearest(13.40, 52.521)
    >>> round(distance_m)
    111
    """

    def __init__(self, towers: Sequence[Tower], frame: LocalFrame | None = None) -> None:
        ordered = sorted(towers, key=lambda t: t.id)
        _check_unique_ids(towers)
        self._towers: tuple[Tower, ...] = tuple(ordered)
        self._by_id = {t.id: i for i, t in enumerate(ordered)}
        footprints = np.array([t.footprint_wgs84 for t in ordered], dtype=object)
        if frame is None and ordered:
            frame = LocalFrame.for_geometries(footprints)
        self._frame = frame
        self._footprints_local = (
            frame.geometry_to_local(footprints) if frame is not None else footprints
        )
        self._tree_wgs84 = shapely.STRtree(footprints)
        self._tree_local = shapely.STRtree(self._footprints_local)
        self._centroids_wgs84 = shapely.get_coordinates(shapely.centroid(footprints))
        self._centre_wgs84, self._reach_m = _centre_and_reach(frame, self._footprints_local)

    @property
    def frame(self) -> LocalFrame | None:
        """The metric frame of distance queries (None for an empty index)."""
        return self._frame

    @property
    def towers(self) -> tuple[Tower, ...]:
        """All towers, ordered by id."""
        return self._towers

    def __len__(self) -> int:
        return len(self._towers)

    def __iter__(self) -> Iterator[Tower]:
        return iter(self._towers)

    def __contains__(self, tower_id: object) -> bool:
        return tower_id in self._by_id

    def get(self, tower_id: str) -> Tower | None:
        """The tower with this id, or None."""
        i = self._by_id.get(tower_id)
        return None if i is None else self._towers[i]

    def query_bbox(self, bbox_wgs84: Sequence[float]) -> list[Tower]:
        """Towers whose footprint intersects a lon/lat bounding box, ordered by id.

        Parameters
        ----------
        bbox_wgs84 : (min_lon, min_lat, max_lon, max_lat)
            WGS84 degrees; ``min_lon > max_lon`` crosses the antimeridian.

        Raises
        ------
        InvalidGeometry
            If the box is malformed (``field="bbox"``).
        """
        min_lon, min_lat, max_lon, max_lat = check_bbox_wgs84(bbox_wgs84)
        if min_lon <= max_lon:
            boxes = [shapely.box(min_lon, min_lat, max_lon, max_lat)]
        else:
            boxes = [
                shapely.box(min_lon, min_lat, 180.0, max_lat),
                shapely.box(-180.0, min_lat, max_lon, max_lat),
            ]
        hits = self._tree_wgs84.query(boxes, predicate="intersects")[1]
        return [self._towers[i] for i in np.unique(hits)]

    def within_radius(self, lon: float, lat: float, radius_m: float) -> list[Tower]:
        """Towers whose footprint lies within ``radius_m`` of a point, nearest first.

        See :meth:`within_radius_with_distances` for distances and errors.
        """
        return [tower for tower, _ in self.within_radius_with_distances(lon, lat, radius_m)]

    def within_radius_with_distances(
        self, lon: float, lat: float, radius_m: float
    ) -> list[tuple[Tower, float]]:
        """Towers within ``radius_m`` of a point with their distances in metres.

        The distance runs from the point to the nearest part of the footprint (0 when
        inside), measured in the index's local metric frame (within a UTM zone its
        scale error is below 0.1 %). For a point more than 100 km beyond the towers,
        distances are geodesic to the footprint centroids instead. Ordered by
        distance, then id.

        Raises
        ------
        InvalidGeometry
            If lon/lat are out of range (``field="coordinates"``) or ``radius_m`` is
            negative or not finite (``field="radius_m"``).
        """
        check_lonlat(lon, lat)
        if not (math.isfinite(radius_m) and radius_m >= 0.0):
            raise InvalidGeometry("must be a finite distance >= 0 m", "radius_m")
        if self._frame is None:
            return []
        point = self._local_point(lon, lat)
        if point is None:
            distances = self._geodesic_to_centroids_m(lon, lat)
            hits = np.flatnonzero(distances <= radius_m)
            distances = distances[hits]
        else:
            hits = self._tree_local.query(point, predicate="dwithin", distance=radius_m)
            distances = shapely.distance(self._footprints_local[hits], point)
        order = np.lexsort((hits, distances))
        return [(self._towers[hits[k]], float(distances[k])) for k in order]

    def nearest(self, lon: float, lat: float) -> tuple[Tower, float] | None:
        """The tower nearest to a point and its distance in metres (None when empty).

        Distances are measured as in :meth:`within_radius_with_distances`. Ties go to
        the lowest id.

        Raises
        ------
        InvalidGeometry
            If lon/lat are out of range.
        """
        check_lonlat(lon, lat)
        if self._frame is None:
            return None
        point = self._local_point(lon, lat)
        if point is None:
            geodesic = self._geodesic_to_centroids_m(lon, lat)
            best = int(np.argmin(geodesic))  # first minimum: lowest id
            return self._towers[best], float(geodesic[best])
        hits, distances = self._tree_local.query_nearest(
            point, all_matches=True, return_distance=True
        )
        # A single query geometry gives a 1-D array of tree indices.
        indices: npt.NDArray[np.intp] = np.asarray(hits)
        best = int(indices.min())
        return self._towers[best], float(distances.min())

    def _local_point(self, lon: float, lat: float) -> Point | None:
        """The point in the local frame, or None when it lies too far for the frame."""
        assert self._frame is not None
        centre_lon, centre_lat = self._centre_wgs84
        if _GEOD.inv(centre_lon, centre_lat, lon, lat)[2] > self._reach_m + _LOCAL_FRAME_REACH_M:
            return None
        x, y = self._frame.to_local(lon, lat)
        return Point(x, y) if math.isfinite(x) and math.isfinite(y) else None

    def _geodesic_to_centroids_m(self, lon: float, lat: float) -> npt.NDArray[np.float64]:
        n = len(self._centroids_wgs84)
        lons, lats = self._centroids_wgs84[:, 0], self._centroids_wgs84[:, 1]
        _, _, distances = _GEOD.inv(np.full(n, lon), np.full(n, lat), lons, lats)
        return np.asarray(distances, dtype=float)


def _centre_and_reach(
    frame: LocalFrame | None, footprints_local: npt.NDArray[np.object_]
) -> tuple[tuple[float, float], float]:
    """Centre of the towers' local bounds in lon/lat and the geodesic distance to
    the farthest corner of those bounds."""
    if frame is None or len(footprints_local) == 0:
        return (0.0, 0.0), 0.0
    min_x, min_y, max_x, max_y = shapely.total_bounds(footprints_local)
    centre_lon, centre_lat = frame.to_wgs84((min_x + max_x) / 2.0, (min_y + max_y) / 2.0)
    corner_lons, corner_lats = frame.to_wgs84(
        [min_x, min_x, max_x, max_x], [min_y, max_y, min_y, max_y]
    )
    _, _, distances = _GEOD.inv(
        np.full(4, centre_lon), np.full(4, centre_lat), corner_lons, corner_lats
    )
    return (float(centre_lon), float(centre_lat)), float(np.max(distances))


def _check_unique_ids(towers: Sequence[Tower]) -> None:
    seen: set[str] = set()
    for i, tower in enumerate(towers):
        if tower.id in seen:
            raise InvalidTower("duplicate tower id", f"towers.{i}.id")
        seen.add(tower.id)
