"""Coordinate reference systems: local metric frames and reprojection.

A :class:`LocalFrame` is a projected, metric CRS chosen for one district so that
distances and buffers can be computed in metres with planar geometry: the UTM zone of
the district's centroid, or an azimuthal equidistant projection centred on the
centroid when the district is too wide for one zone or lies near a pole.

Transforms always take and return coordinates in lon, lat (x, y) order; every
:class:`pyproj.Transformer` here is built with ``always_xy=True`` and cached.

East-north-up (ENU) tangent frames for AR anchors belong in this module too, next to
:class:`LocalFrame`, when they are added.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.crs import GeographicCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import AzimuthalEquidistantConversion
from pyproj.database import query_utm_crs_info
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidCRS, InvalidGeometry

__all__ = [
    "UTM_ZONE_WIDTH_DEG",
    "WGS84",
    "LocalFrame",
    "check_lonlat",
    "parse_crs",
    "reproject_geometry",
]

WGS84 = CRS.from_epsg(4326)
"""EPSG:4326; used with ``always_xy=True`` so coordinates are lon, lat."""

UTM_ZONE_WIDTH_DEG = 6.0
"""Width of a UTM zone in degrees of longitude."""

_UTM_MAX_ABS_LAT = 84.0

FloatArray = npt.NDArray[np.float64]


def check_lonlat(lon: float, lat: float, field_name: str = "coordinates") -> None:
    """Check a WGS84 position given as lon, lat degrees.

    Raises
    ------
    InvalidGeometry
        If lon/lat are not finite or outside [-180, 180] / [-90, 90].
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidGeometry("coordinates must be finite numbers", field_name)
    if not -180.0 <= lon <= 180.0:
        raise InvalidGeometry("longitude must be within [-180, 180]", field_name)
    if not -90.0 <= lat <= 90.0:
        raise InvalidGeometry("latitude must be within [-90, 90]", field_name)


def parse_crs(value: Any, field_name: str = "crs") -> CRS:
    """Parse anything pyproj understands (``"EPSG:25832"``, WKT, PROJ string, CRS).

    Raises
    ------
    InvalidCRS
        If pyproj does not know the CRS.
    """
    if isinstance(value, CRS):
        return value
    try:
        return CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError) as exc:
        raise InvalidCRS("is not a coordinate reference system known to PROJ", field_name) from exc


@lru_cache(maxsize=128)
def _transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _transform_geometry(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def apply(coords: FloatArray) -> FloatArray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack((x, y))

    return shapely.transform(geom, apply)


def reproject_geometry(geom: BaseGeometry, src_crs: Any, dst_crs: Any) -> BaseGeometry:
    """Reproject a shapely geometry (or array of geometries) between two CRSs.

    Coordinates are taken and returned in x, y (lon, lat) order whatever the axis
    order the CRS declares.

    Parameters
    ----------
    geom : shapely geometry
    src_crs, dst_crs : CRS-like
        Anything :func:`parse_crs` accepts.

    Raises
    ------
    InvalidCRS
        If either CRS is unknown.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> p = reproject_geometry(Point(13.4, 52.52), "EPSG:4326", "EPSG:32633")
    >>> round(p.x), round(p.y)
    (391440, 5820080)
    """
    src = parse_crs(src_crs, "src_crs")
    dst = parse_crs(dst_crs, "dst_crs")
    return _transform_geometry(geom, _transformer(src, dst))


@dataclass(frozen=True)
class LocalFrame:
    """A projected metric CRS for one district, with cached lon/lat transforms.

    Build one with :meth:`for_lonlat` (the usual way) or :meth:`from_crs`.

    Attributes
    ----------
    crs : pyproj.CRS
        The projected CRS; axis units are metres.
    name : str
        Human-readable name, e.g. ``"WGS 84 / UTM zone 33N"``.
    epsg : int or None
        The EPSG code of ``crs``, or None for a custom (AEQD) projection.
    """

    crs: CRS = field(repr=False)
    name: str
    epsg: int | None = field(init=False)
    _forward: Transformer = field(init=False, repr=False, compare=False)
    _inverse: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsg", self.crs.to_epsg())
        object.__setattr__(self, "_forward", _transformer(WGS84, self.crs))
        object.__setattr__(self, "_inverse", _transformer(self.crs, WGS84))

    @classmethod
    def from_crs(cls, crs: Any) -> LocalFrame:
        """A frame from an explicit projected CRS whose axes are in metres.

        Raises
        ------
        InvalidCRS
            If the CRS is unknown, not projected, or not metric.
        """
        parsed = parse_crs(crs)
        units = {axis.unit_name for axis in parsed.axis_info}
        if not parsed.is_projected or units != {"metre"}:
            raise InvalidCRS("must be a projected CRS with axes in metres", "crs")
        return cls(parsed, parsed.name)

    @classmethod
    def for_lonlat(cls, lons: npt.ArrayLike, lats: npt.ArrayLike) -> LocalFrame:
        """Choose a local metric frame for points given in WGS84 degrees.

        The UTM zone (WGS 84 datum) containing the centroid of the points is used,
        unless the points span more than one zone width (6 degrees of longitude) or
        any point is polar (``|lat| > 84``); then an azimuthal equidistant projection
        centred on the centroid is used. Longitudes spanning the antimeridian are
        handled.

        Parameters
        ----------
        lons, lats : array_like of float
            WGS84 degrees, same length, at least one point.

        Raises
        ------
        InvalidGeometry
            If there are no points, lengths differ, or coordinates are non-finite or
            out of range.

        Examples
        --------
        >>> LocalFrame.for_lonlat([13.40, 13.41], [52.52, 52.53]).epsg
        32633
        """
        lon_arr, lat_arr = _checked_lonlat_arrays(lons, lats)
        centre_lon, lon_span = _lon_centre_and_span(lon_arr)
        centre_lat = float(lat_arr.mean())
        polar = bool(np.any(np.abs(lat_arr) > _UTM_MAX_ABS_LAT))
        if not polar and lon_span <= UTM_ZONE_WIDTH_DEG:
            utm = _utm_crs(centre_lon, centre_lat)
            if utm is not None:
                return cls(utm, utm.name)
        return cls._aeqd(centre_lon, centre_lat)

    @classmethod
    def for_geometries(cls, geoms_wgs84: Sequence[BaseGeometry] | Any) -> LocalFrame:
        """Choose a local metric frame for WGS84 geometries from their centroids.

        See :meth:`for_lonlat`; raises the same errors.
        """
        centroids = shapely.get_coordinates(shapely.centroid(np.asarray(geoms_wgs84, dtype=object)))
        return cls.for_lonlat(centroids[:, 0], centroids[:, 1])

    @classmethod
    def _aeqd(cls, lon: float, lat: float) -> LocalFrame:
        name = f"Azimuthal equidistant centred on {lon:.6f}, {lat:.6f}"
        crs = ProjectedCRS(
            conversion=AzimuthalEquidistantConversion(
                latitude_natural_origin=lat, longitude_natural_origin=lon
            ),
            geodetic_crs=GeographicCRS(datum="WGS84"),
            name=name,
        )
        return cls(crs, name)

    @overload
    def to_local(self, lon: float, lat: float) -> tuple[float, float]: ...

    @overload
    def to_local(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]: ...

    def to_local(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
        """Project WGS84 lon, lat (degrees) to local x, y (metres).

        Floats in give floats out; array-likes give numpy arrays. Points the
        projection cannot represent come back as ``inf``.
        """
        return _apply(self._forward, lon, lat)

    @overload
    def to_wgs84(self, x: float, y: float) -> tuple[float, float]: ...

    @overload
    def to_wgs84(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Any, Any]: ...

    def to_wgs84(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Any, Any]:
        """Unproject local x, y (metres) to WGS84 lon, lat (degrees)."""
        return _apply(self._inverse, x, y)

    def geometry_to_local(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a WGS84 lon/lat geometry (or array of geometries) to the local frame."""
        return _transform_geometry(geom, self._forward)

    def geometry_to_wgs84(self, geom: BaseGeometry) -> BaseGeometry:
        """Unproject a local-frame geometry (or array of geometries) to WGS84 lon/lat."""
        return _transform_geometry(geom, self._inverse)


def _apply(transformer: Transformer, a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[Any, Any]:
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        x, y = transformer.transform(float(a), float(b))  # type: ignore[arg-type]
        return float(x), float(y)
    x, y = transformer.transform(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _checked_lonlat_arrays(
    lons: npt.ArrayLike, lats: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    lon_arr = np.atleast_1d(np.asarray(lons, dtype=float)).ravel()
    lat_arr = np.atleast_1d(np.asarray(lats, dtype=float)).ravel()
    if lon_arr.size == 0 or lon_arr.size != lat_arr.size:
        raise InvalidGeometry("need one or more lon, lat pairs", "coordinates")
    if not (np.all(np.isfinite(lon_arr)) and np.all(np.isfinite(lat_arr))):
        raise InvalidGeometry("coordinates must be finite numbers", "coordinates")
    if np.any(np.abs(lon_arr) > 180.0) or np.any(np.abs(lat_arr) > 90.0):
        raise InvalidGeometry(
            "longitude must be within [-180, 180], latitude within [-90, 90]", "coordinates"
        )
    return lon_arr, lat_arr


def _lon_centre_and_span(lons: FloatArray) -> tuple[float, float]:
    """Mean longitude and longitude span, taking the shorter way round the globe."""
    span = float(lons.max() - lons.min())
    shifted = np.mod(lons, 360.0)
    shifted_span = float(shifted.max() - shifted.min())
    if shifted_span < span:
        centre = float(shifted.mean())
        return (centre - 360.0 if centre > 180.0 else centre), shifted_span
    return float(lons.mean()), span


def _utm_crs(lon: float, lat: float) -> CRS | None:
    """The WGS 84 UTM zone CRS for a point, or None where UTM is not defined."""
    candidates = _utm_candidates(round(lon, 2), round(lat, 2))
    if not candidates:
        return None
    north = lat >= 0.0

    def badness(candidate: tuple[str, float, float]) -> tuple[bool, float]:
        _, central_lon, south = candidate
        return ((south >= 0.0) != north, abs(central_lon - lon))

    code = min(candidates, key=badness)[0]
    return CRS.from_epsg(int(code))


@lru_cache(maxsize=512)
def _utm_candidates(lon: float, lat: float) -> tuple[tuple[str, float, float], ...]:
    # Rounded input keeps the cache useful; a point on a zone border gets both zones
    # and _utm_crs picks by the unrounded coordinates.
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    out = []
    for info in infos:
        area = info.area_of_use
        if info.auth_name != "EPSG" or area is None or math.isnan(area.west):
            continue
        out.append((info.code, (area.west + area.east) / 2.0, area.south))
    return tuple(out)
