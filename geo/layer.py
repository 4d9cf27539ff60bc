"""Farm towers and their tiers: the frozen domain types of the tower layer.

A :class:`Tower` is a multi-tier structure with a footprint in WGS84 lon/lat, a base
height above the WGS84 ellipsoid and ordered :class:`Tier` levels. Spatial queries on a
set of towers live in :mod:`geo.tower_index`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidGeometry, InvalidTower

__all__ = [
    "DEFAULT_FOOTPRINT_RADIUS_M",
    "TOWER_ID_PATTERN",
    "Tier",
    "Tower",
    "check_wgs84_geometry",
    "point_footprint",
    "validate_footprint",
]

DEFAULT_FOOTPRINT_RADIUS_M = 5.0
"""Radius of the footprint given to a tower posted as a Point (its centre), in metres:
a 10 m wide circle, the middle of the 8-20 m towers of a community farm district."""

_FOOTPRINT_VERTICES = 32
_GEOD = Geod(ellps="WGS84")

TOWER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_TOWER_ID_RE = re.compile(TOWER_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Tier:
    """One level of a tower.

    Attributes
    ----------
    level : int
        0 for the lowest tier, counting up without gaps.
    height_m : float
        Height of the tier's growing surface above the tower base, in metres.
    crop : str
        The crop or strain grown on this tier.
    """

    level: int
    height_m: float
    crop: str = ""

    def to_dict(self) -> dict[str, Any]:
        """GeoJSON-ready representation."""
        return {"level": self.level, "height_m": self.height_m, "crop": self.crop}


@dataclass(frozen=True, slots=True)
class Tower:
    """A farm tower.

    Attributes
    ----------
    id : str
        Stable identifier (letters, digits, ``._-``; at most 64 characters).
    name, district : str
        Display name and the district it belongs to.
    footprint_wgs84 : shapely Point or Polygon
        Footprint in EPSG:4326 lon/lat (2D); :meth:`with_polygon_footprint` turns a
        Point (the tower's centre) into a circle, as the service stores every tower.
    base_height_m : float
        Height of the tower's base above the WGS84 ellipsoid, in metres.
    height_m : float
        Total height of the tower above its base, in metres.
    tiers : tuple of Tier
        Ordered by level, starting at 0.
    extra : mapping
        Additional properties kept verbatim (JSON-serializable values).
    """

    id: str
    footprint_wgs84: BaseGeometry
    base_height_m: float
    height_m: float
    tiers: tuple[Tier, ...]
    name: str = ""
    district: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _TOWER_ID_RE.match(self.id):
            raise InvalidTower(
                "must be 1-64 characters of letters, digits, '.', '_' or '-'", field="id"
            )
        validate_footprint(self.footprint_wgs84)
        _validate_heights(self.base_height_m, self.height_m, self.tiers)

    @property
    def centroid_lonlat(self) -> tuple[float, float]:
        """Centroid of the footprint in lon/lat degrees."""
        c = self.footprint_wgs84.centroid
        return (float(c.x), float(c.y))

    def with_polygon_footprint(self, radius_m: float = DEFAULT_FOOTPRINT_RADIUS_M) -> Tower:
        """This tower with a Polygon footprint: a Point footprint (the tower's centre)
        becomes a circle of ``radius_m`` metres (:func:`point_footprint`); a tower
        that already has a Polygon is returned as it is."""
        if self.footprint_wgs84.geom_type != "Point":
            return self
        return replace(self, footprint_wgs84=point_footprint(self.footprint_wgs84, radius_m))

    def properties(self) -> dict[str, Any]:
        """The GeoJSON properties of this tower (names fixed by the API contract)."""
        props: dict[str, Any] = dict(self.extra)
        props.update(
            name=self.name,
            district=self.district,
            base_height_m=self.base_height_m,
            height_m=self.height_m,
            tiers=[t.to_dict() for t in self.tiers],
        )
        return props


def validate_footprint(geom: BaseGeometry, field_name: str = "geometry") -> None:
    """Check that ``geom`` is a usable WGS84 footprint.

    Raises
    ------
    InvalidGeometry
        If it is not a non-empty Point or Polygon, has coordinates outside
        lon [-180, 180] / lat [-90, 90], or is invalid (shapely's reason is given).
    """
    if geom.geom_type not in ("Point", "Polygon"):
        raise InvalidGeometry(f"must be a Point or a Polygon, not {geom.geom_type}", field_name)
    check_wgs84_geometry(geom, field_name)


def point_footprint(centre: BaseGeometry, radius_m: float = DEFAULT_FOOTPRINT_RADIUS_M) -> Polygon:
    """A circular footprint of ``radius_m`` metres around a WGS84 Point.

    The vertices (32) lie on the WGS84 ellipsoid exactly ``radius_m`` from the centre
    (geodesic forward problem), so the circle is round on the ground at any latitude.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> ring = point_footprint(Point(5.1214, 52.0907), 5.0)
    >>> ring.geom_type, len(ring.exterior.coords)
    ('Polygon', 33)
    """
    if not radius_m > 0:
        raise InvalidGeometry("the footprint radius must be positive", "radius_m")
    angles = np.linspace(0.0, 360.0, _FOOTPRINT_VERTICES, endpoint=False)
    n = angles.size
    lons, lats, _ = _GEOD.fwd(
        np.full(n, centre.x), np.full(n, centre.y), angles, np.full(n, radius_m)
    )
    # Azimuths run clockwise; reversed, the exterior ring is counter-clockwise (RFC 7946).
    return Polygon(list(zip(lons[::-1], lats[::-1], strict=True)))


def check_wgs84_geometry(geom: BaseGeometry, field_name: str = "geometry") -> None:
    """Check that ``geom`` is non-empty, finite, within WGS84 lon/lat ranges and valid.

    Raises
    ------
    InvalidGeometry
        Naming ``field_name``; for an invalid geometry the reason is shapely's
        (e.g. ``"invalid geometry: Self-intersection[1 1]"``).
    """
    if geom.is_empty:
        raise InvalidGeometry("must not be empty", field_name)
    minx, miny, maxx, maxy = geom.bounds
    if not all(map(_finite, (minx, miny, maxx, maxy))):
        raise InvalidGeometry("coordinates must be finite numbers", field_name)
    if minx < -180 or maxx > 180:
        raise InvalidGeometry("longitude must be within [-180, 180]", field_name)
    if miny < -90 or maxy > 90:
        raise InvalidGeometry("latitude must be within [-90, 90]", field_name)
    if not geom.is_valid:
        raise InvalidGeometry(f"invalid geometry: {shapely.is_valid_reason(geom)}", field_name)


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))


def _validate_heights(base_height_m: float, height_m: float, tiers: Sequence[Tier]) -> None:
    if not _finite(base_height_m) or not -500.0 <= base_height_m <= 9000.0:
        raise InvalidTower("must be a finite height within [-500, 9000] m", "base_height_m")
    if not _finite(height_m) or not 0.0 < height_m <= 1000.0:
        raise InvalidTower("must be within (0, 1000] m", "height_m")
    previous = -1.0
    for i, tier in enumerate(tiers):
        where = f"tiers.{i}"
        if tier.level != i:
            raise InvalidTower(f"levels must count 0, 1, 2... in order; expected {i}", where)
        if not _finite(tier.height_m) or not 0.0 <= tier.height_m <= height_m:
            raise InvalidTower("height_m must be within [0, the tower's height_m]", where)
        if tier.height_m <= previous:
            raise InvalidTower("height_m must increase from one tier to the next", where)
        previous = tier.height_m
