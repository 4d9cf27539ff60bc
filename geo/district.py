"""The district: the area around a set of towers where reports are believable.

A :class:`District` is grown from the towers given: the convex hull of their
footprints in a local metric frame, buffered by a margin. Points farther than the
margin from the towers are rejected with :class:`~geo.errors.OutsideDistrict`, with a
hint when swapping longitude and latitude would have put them inside (the most common
mistake with GeoJSON's ``[lon, lat]`` order).

A new tower may also be refused for the district's *span* (:meth:`District.span_m`):
everything computed over the district (the field's grid, its tiles, the zones) grows
with its bounding box, so one tower 44 km away turned a 300 x 300 cell grid into a
minute-long computation, and one farther diagonally into no field at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.crs import LocalFrame, check_lonlat
from geo.errors import InvalidGeometry, OutsideDistrict
from geo.layer import Tower, validate_footprint
from geo.tower_index import BBox

__all__ = ["SWAPPED_HINT", "District"]

SWAPPED_HINT = "are longitude and latitude swapped? GeoJSON order is [lon, lat]"
"""Appended to the reason of an error when the swapped position would be accepted."""

_GEOD = Geod(ellps="WGS84")

# Beyond this distance outside the district's reach, distances are geodesic (to the
# nearest hull vertex) instead of planar in the local frame, which distorts far away.
_LOCAL_FRAME_REACH_M = 100_000.0


@dataclass(frozen=True)
class District:
    """The area where the towers are, grown from the towers themselves.

    Build one with :meth:`from_towers` or :meth:`empty`.

    Attributes
    ----------
    frame : LocalFrame or None
        Metric frame of the local geometries; None for an empty district.
    hull_local : shapely geometry
        Convex hull of all tower footprints in ``frame`` (metres).
    area_local : shapely geometry
        ``hull_local`` buffered by ``margin_m``: the accepted area.
    bbox_wgs84 : (min_lon, min_lat, max_lon, max_lat) or None
        Bounds of the tower footprints themselves (without the margin).
    margin_m : float
        How far from the towers a point may lie, in metres.
    """

    frame: LocalFrame | None
    hull_local: BaseGeometry
    area_local: BaseGeometry
    bbox_wgs84: BBox | None
    margin_m: float

    @classmethod
    def from_towers(
        cls,
        towers: Sequence[Tower],
        margin_m: float = 1000.0,
        *,
        frame: LocalFrame | None = None,
    ) -> District:
        """Grow a district from towers (an empty district when there are none).

        Parameters
        ----------
        towers : sequence of Tower
        margin_m : float
            Distance from the towers' hull still inside the district, in metres.
        frame : LocalFrame, optional
            Share the frame of a :class:`~geo.tower_index.TowerIndex`; chosen from
            the footprints when omitted.

        Raises
        ------
        InvalidGeometry
            If ``margin_m`` is negative or not finite (``field="margin_m"``).
        """
        _check_margin(margin_m)
        if not towers:
            return cls.empty(margin_m)
        footprints = np.array([t.footprint_wgs84 for t in towers], dtype=object)
        if frame is None:
            frame = LocalFrame.for_geometries(footprints)
        hull_local = shapely.convex_hull(
            shapely.GeometryCollection(list(frame.geometry_to_local(footprints)))
        )
        min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(footprints)
        return cls(
            frame=frame,
            hull_local=hull_local,
            area_local=hull_local.buffer(margin_m),
            bbox_wgs84=(float(min_lon), float(min_lat), float(max_lon), float(max_lat)),
            margin_m=float(margin_m),
        )

    @classmethod
    def empty(cls, margin_m: float = 1000.0) -> District:
        """A district without towers: it contains nothing and checks nothing."""
        _check_margin(margin_m)
        return cls(
            frame=None,
            hull_local=Polygon(),
            area_local=Polygon(),
            bbox_wgs84=None,
            margin_m=float(margin_m),
        )

    @property
    def is_empty(self) -> bool:
        """True when the district was grown from no towers."""
        return self.frame is None

    def contains(self, lon: float, lat: float) -> bool:
        """Whether a WGS84 point lies within ``margin_m`` of the towers.

        Raises
        ------
        InvalidGeometry
            If lon/lat are out of range.
        """
        return self.distance_m(lon, lat) <= self.margin_m

    def distance_m(self, lon: float, lat: float) -> float:
        """Distance from a WGS84 point to the hull of the towers, in metres.

        0 inside the hull; ``inf`` for an empty district. Near the district the
        distance is planar in the local frame; far away (more than 100 km beyond the
        towers) it is geodesic to the nearest hull vertex.

        Raises
        ------
        InvalidGeometry
            If lon/lat are out of range.
        """
        check_lonlat(lon, lat)
        return self.geometry_distance_m(Point(lon, lat))

    def geometry_distance_m(self, geom_wgs84: BaseGeometry) -> float:
        """Distance from a WGS84 geometry to the hull of the towers, in metres.

        As :meth:`distance_m`; far away the geometry's centroid is used.
        """
        if self.frame is None:
            return math.inf
        centroid = geom_wgs84.centroid
        lon, lat = float(centroid.x), float(centroid.y)
        if self._geodesic_from_centre_m(lon, lat) > self._reach_m + _LOCAL_FRAME_REACH_M:
            return self._geodesic_to_hull_m(lon, lat)
        return float(self.hull_local.distance(self.frame.geometry_to_local(geom_wgs84)))

    def check_point(self, lon: float, lat: float, field: str) -> None:
        """Reject a point that lies more than ``margin_m`` from the towers.

        An empty district accepts anything. Error reasons state the distance in
        kilometres (and, when swapping lon and lat would land inside, the
        :data:`SWAPPED_HINT`), never the coordinates themselves.

        Raises
        ------
        OutsideDistrict
            If the point is too far away.
        InvalidGeometry
            If lon/lat are out of range.
        """
        if self.is_empty:
            return
        try:
            check_lonlat(lon, lat, field)
        except InvalidGeometry as exc:
            hint = self._swap_hint(Point(lon, lat), self.margin_m)
            raise InvalidGeometry(exc.reason + hint, field) from None
        distance_m = self.distance_m(lon, lat)
        if distance_m > self.margin_m:
            hint = self._swap_hint(Point(lon, lat), self.margin_m)
            raise OutsideDistrict(_too_far(distance_m, self.margin_m) + hint, field)

    def span_m(self, footprint_wgs84: BaseGeometry | None = None) -> float:
        """Longer side of the bounding box of the towers' hull, in the local frame, metres.

        With ``footprint_wgs84``: the span the district would have with that footprint
        added. 0 for an empty district (with or without one footprint: a single tower
        spans its own footprint only, which is taken as 0).
        """
        if self.frame is None:
            return 0.0
        hull = self.hull_local
        if footprint_wgs84 is not None:
            hull = shapely.union(hull, self.frame.geometry_to_local(footprint_wgs84))
        min_x, min_y, max_x, max_y = hull.bounds
        return float(max(max_x - min_x, max_y - min_y))

    def check_tower(
        self,
        footprint_wgs84: BaseGeometry,
        field: str,
        max_distance_m: float = 50_000.0,
        max_span_m: float = math.inf,
    ) -> None:
        """Reject a new tower footprint far from the existing towers.

        An empty district accepts any valid footprint. A footprint that does not
        widen the district is accepted whatever its span (so towers of a district
        already wider than ``max_span_m`` can still be replaced in place).

        Raises
        ------
        OutsideDistrict
            If the footprint lies more than ``max_distance_m`` from the towers' hull
            (with the swapped hint when applicable), or would stretch the district's
            :meth:`span_m` beyond ``max_span_m``.
        InvalidGeometry
            If the footprint is not a valid WGS84 Point or Polygon.
        """
        try:
            validate_footprint(footprint_wgs84, field)
        except InvalidGeometry as exc:
            hint = self._swap_hint(footprint_wgs84, max_distance_m)
            raise InvalidGeometry(exc.reason + hint, field) from None
        if self.is_empty:
            return
        distance_m = self.geometry_distance_m(footprint_wgs84)
        if distance_m > max_distance_m:
            hint = self._swap_hint(footprint_wgs84, max_distance_m)
            raise OutsideDistrict(_too_far(distance_m, max_distance_m) + hint, field)
        span_m = self.span_m(footprint_wgs84)
        if span_m > max_span_m and span_m > self.span_m():
            raise OutsideDistrict(
                f"would stretch the district to {_format_km(span_m)} across; "
                f"at most {_format_km(max_span_m)} is accepted",
                field,
            )

    def _swap_hint(self, geom_wgs84: BaseGeometry, limit_m: float) -> str:
        """``"; " + SWAPPED_HINT`` when the lat/lon-swapped geometry is within reach."""
        if self.is_empty or geom_wgs84.is_empty:
            return ""
        swapped = shapely.transform(geom_wgs84, lambda coords: coords[:, ::-1])
        min_lon, min_lat, max_lon, max_lat = swapped.bounds
        if not (-180.0 <= min_lon <= max_lon <= 180.0 and -90.0 <= min_lat <= max_lat <= 90.0):
            return ""
        if self.geometry_distance_m(swapped) <= limit_m:
            return "; " + SWAPPED_HINT
        return ""

    @cached_property
    def _hull_vertices_wgs84(self) -> np.ndarray:
        assert self.frame is not None
        return shapely.get_coordinates(self.frame.geometry_to_wgs84(self.hull_local))

    @cached_property
    def _centre_wgs84(self) -> tuple[float, float]:
        assert self.frame is not None
        return self.frame.to_wgs84(self.hull_local.centroid.x, self.hull_local.centroid.y)

    @cached_property
    def _reach_m(self) -> float:
        """Geodesic distance from the centre to the farthest hull vertex."""
        vertices = self._hull_vertices_wgs84
        return max(self._geodesic_from_centre_m(lon, lat) for lon, lat in vertices)

    def _geodesic_from_centre_m(self, lon: float, lat: float) -> float:
        centre_lon, centre_lat = self._centre_wgs84
        return float(_GEOD.inv(centre_lon, centre_lat, lon, lat)[2])

    def _geodesic_to_hull_m(self, lon: float, lat: float) -> float:
        vertices = self._hull_vertices_wgs84
        n = len(vertices)
        _, _, distances = _GEOD.inv(
            np.full(n, lon), np.full(n, lat), vertices[:, 0], vertices[:, 1]
        )
        return float(np.min(distances))


def _check_margin(margin_m: float) -> None:
    if not (math.isfinite(margin_m) and margin_m >= 0.0):
        raise InvalidGeometry("must be a finite distance >= 0 m", "margin_m")


def _format_km(distance_m: float) -> str:
    km = distance_m / 1000.0
    if km < 10.0:
        return f"{km:.2f} km"
    if km < 100.0:
        return f"{km:.1f} km"
    return f"{km:,.0f} km"


def _too_far(distance_m: float, limit_m: float) -> str:
    return (
        f"lies {_format_km(distance_m)} from the district's towers; "
        f"at most {_format_km(limit_m)} is accepted"
    )
