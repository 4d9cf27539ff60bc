"""GeoPackage binary geometry ("GP" blobs): encoding, decoding and the rtree SQL functions.

A GeoPackage geometry blob (GeoPackage 1.3, clause 2.1.3) is a header followed by
ISO WKB::

    magic     2 bytes   b"GP"
    version   1 byte    0 (version 1 of the format)
    flags     1 byte    bit 0: byte order of the header (1 = little endian)
                        bits 1-3: envelope contents indicator
                        bit 4: empty geometry
                        bit 5: extended (non-standard) geometry type
    srs_id    int32
    envelope  0, 4, 6 or 6, 8 doubles ([minx, maxx, miny, maxy, ...])
    WKB       ISO WKB of the geometry

This module always writes little-endian headers with an xy envelope
(``[minx, maxx, miny, maxy]``) for every non-empty geometry, points included, and no
envelope with the empty flag for empty geometries. It reads any standard blob (either
byte order, any envelope kind, blobs without envelope).

The ``ST_*`` functions at the bottom are the minimal SQL functions the rtree spatial
index triggers call; :func:`register_sql_functions` installs them on a connection.

Examples
--------
>>> from shapely import Point
>>> blob = encode_geometry(Point(13.4, 52.5), srs_id=4326)
>>> blob[:2], len(blob)
(b'GP', 61)
>>> decode_geometry(blob).wkt
'POINT (13.4 52.5)'
>>> st_min_x(blob), st_max_y(blob)
(13.4, 52.5)
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "GeometryHeader",
    "decode_geometry",
    "decode_points",
    "encode_geometry",
    "encode_points",
    "parse_header",
    "register_sql_functions",
    "st_is_empty",
    "st_max_x",
    "st_max_y",
    "st_min_x",
    "st_min_y",
]

_MAGIC = b"GP"
_VERSION = 0
_FLAG_LITTLE_ENDIAN = 0x01
_FLAG_EMPTY = 0x10
_FLAG_EXTENDED = 0x20
_ENVELOPE_XY = 1
# Number of doubles in the envelope for each envelope contents indicator.
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}
_HEADER_XY = struct.Struct("<2sBBi4d")  # 40 bytes
_HEADER_NO_ENVELOPE = struct.Struct("<2sBBi")  # 8 bytes
_FLAGS_XY = _FLAG_LITTLE_ENDIAN | (_ENVELOPE_XY << 1)
_FLAGS_EMPTY = _FLAG_LITTLE_ENDIAN | _FLAG_EMPTY


@dataclass(frozen=True, slots=True)
class GeometryHeader:
    """The parsed header of a GeoPackage geometry blob.

    Attributes
    ----------
    srs_id : int
        The ``gpkg_spatial_ref_sys.srs_id`` of the geometry.
    empty : bool
        Whether the empty flag is set.
    envelope : tuple of float or None
        ``(minx, maxx, miny, maxy)`` when the header carries an envelope.
    wkb_offset : int
        Offset of the WKB within the blob.
    """

    srs_id: int
    empty: bool
    envelope: tuple[float, float, float, float] | None
    wkb_offset: int


def parse_header(blob: bytes) -> GeometryHeader:
    """Parse the header of a GeoPackage geometry blob.

    Raises
    ------
    ValueError
        If ``blob`` is not a standard GeoPackage geometry blob (wrong magic, version,
        envelope indicator, truncated, or an extended geometry type).
    """
    if len(blob) < 8 or blob[:2] != _MAGIC:
        raise ValueError("not a GeoPackage geometry blob (no 'GP' magic)")
    if blob[2] != _VERSION:
        raise ValueError(f"unsupported GeoPackage geometry blob version {blob[2]}")
    flags = blob[3]
    if flags & _FLAG_EXTENDED:
        raise ValueError("extended GeoPackage geometry types are not supported")
    indicator = (flags >> 1) & 0x07
    n_doubles = _ENVELOPE_DOUBLES.get(indicator)
    if n_doubles is None:
        raise ValueError(f"invalid envelope contents indicator {indicator}")
    order = "<" if flags & _FLAG_LITTLE_ENDIAN else ">"
    wkb_offset = 8 + 8 * n_doubles
    if len(blob) <= wkb_offset:
        raise ValueError("truncated GeoPackage geometry blob")
    (srs_id,) = struct.unpack_from(order + "i", blob, 4)
    envelope = None
    if n_doubles:
        minx, maxx, miny, maxy = struct.unpack_from(order + "4d", blob, 8)
        envelope = (minx, maxx, miny, maxy)
    return GeometryHeader(srs_id, bool(flags & _FLAG_EMPTY), envelope, wkb_offset)


def encode_geometry(geom: BaseGeometry, srs_id: int, *, output_dimension: int = 3) -> bytes:
    """Encode a shapely geometry as a GeoPackage geometry blob.

    Parameters
    ----------
    geom : shapely geometry
    srs_id : int
        Written into the header.
    output_dimension : int
        2 drops any Z coordinate; 3 keeps Z when the geometry has one.

    Returns
    -------
    bytes
        Little-endian header with an xy envelope (none for an empty geometry),
        then ISO WKB.
    """
    wkb: bytes = shapely.to_wkb(geom, flavor="iso", byte_order=1, output_dimension=output_dimension)
    if geom.is_empty:
        return _HEADER_NO_ENVELOPE.pack(_MAGIC, _VERSION, _FLAGS_EMPTY, srs_id) + wkb
    minx, miny, maxx, maxy = geom.bounds
    return _HEADER_XY.pack(_MAGIC, _VERSION, _FLAGS_XY, srs_id, minx, maxx, miny, maxy) + wkb


def encode_points(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    height: Sequence[float | None],
    srs_id: int,
) -> list[bytes]:
    """Encode many points at once; a point is 3D where its height is not ``None``.

    Parameters
    ----------
    lon, lat : array-like of float
        Coordinates in the units of ``srs_id`` (degrees for 4326).
    height : sequence of float or None
        Third coordinate per point, ``None`` for a 2D point.
    srs_id : int
        Written into every header.

    Returns
    -------
    list of bytes
        One GeoPackage geometry blob per point (xy envelope, ISO WKB ``POINT`` or
        ``POINT Z``).
    """
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(height) != x.size:
        raise ValueError("lon, lat and height must be 1-D sequences of one length")
    has_z = np.fromiter((h is not None for h in height), dtype=bool, count=x.size)
    geoms = np.empty(x.size, dtype=object)
    if (~has_z).any():
        geoms[~has_z] = shapely.points(x[~has_z], y[~has_z])
    if has_z.any():
        z = np.fromiter((h for h in height if h is not None), dtype=np.float64)
        geoms[has_z] = shapely.points(x[has_z], y[has_z], z)
    wkbs = shapely.to_wkb(geoms, flavor="iso", byte_order=1, output_dimension=3)
    pack = _HEADER_XY.pack
    return [
        pack(_MAGIC, _VERSION, _FLAGS_XY, srs_id, xi, xi, yi, yi) + wkb
        for xi, yi, wkb in zip(x.tolist(), y.tolist(), wkbs.tolist(), strict=True)
    ]


def decode_geometry(blob: bytes) -> BaseGeometry:
    """Decode a GeoPackage geometry blob into a shapely geometry.

    Raises
    ------
    ValueError
        If the header or the WKB is not readable.
    """
    header = parse_header(blob)
    try:
        geom: BaseGeometry = shapely.from_wkb(bytes(blob[header.wkb_offset :]))
    except shapely.errors.GEOSException as exc:
        raise ValueError(f"unreadable WKB in GeoPackage geometry blob: {exc}") from exc
    return geom


def decode_points(
    blobs: Sequence[bytes],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Decode many point blobs at once into ``(x, y, z)`` arrays.

    ``z`` is NaN for 2D points.

    Raises
    ------
    ValueError
        If a blob is unreadable or not a point.
    """
    wkbs = [bytes(b[parse_header(b).wkb_offset :]) for b in blobs]
    try:
        geoms = shapely.from_wkb(np.array(wkbs, dtype=object))
    except shapely.errors.GEOSException as exc:
        raise ValueError(f"unreadable WKB in GeoPackage geometry blob: {exc}") from exc
    if len(wkbs) and not (shapely.get_type_id(geoms) == 0).all():
        raise ValueError("expected point geometries")
    return shapely.get_x(geoms), shapely.get_y(geoms), shapely.get_z(geoms)


# -- minimal SQL functions for the rtree triggers ----------------------------------------


def _envelope(blob: bytes) -> tuple[float, float, float, float] | None:
    """``(minx, maxx, miny, maxy)`` of a blob, ``None`` for an empty geometry."""
    header = parse_header(blob)
    if header.empty:
        return None
    if header.envelope is not None:
        return header.envelope
    geom = shapely.from_wkb(bytes(blob[header.wkb_offset :]))
    if geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return (minx, maxx, miny, maxy)


def _fast_envelope(blob: bytes) -> tuple[float, float, float, float] | None:
    # The rtree triggers call four of these per inserted row: take the common case
    # (our own little-endian xy header) without building a GeometryHeader.
    if len(blob) > 40 and blob[:4] == b"GP\x00\x03":
        minx, maxx, miny, maxy = struct.unpack_from("<4d", blob, 8)
        return (minx, maxx, miny, maxy)
    return _envelope(blob)


def st_is_empty(blob: bytes | None) -> int | None:
    """SQL ``ST_IsEmpty``: 1 if the geometry is empty, 0 if not, NULL for NULL."""
    if blob is None:
        return None
    if blob[:4] == b"GP\x00\x03":  # our own header: xy envelope, not empty
        return 0
    header = parse_header(blob)
    if header.empty:
        return 1
    if header.envelope is not None:
        return 0
    return int(_envelope(blob) is None)


def st_min_x(blob: bytes | None) -> float | None:
    """SQL ``ST_MinX``: minimum x of the envelope; NULL for NULL or empty."""
    env = None if blob is None else _fast_envelope(blob)
    return None if env is None else env[0]


def st_max_x(blob: bytes | None) -> float | None:
    """SQL ``ST_MaxX``: maximum x of the envelope; NULL for NULL or empty."""
    env = None if blob is None else _fast_envelope(blob)
    return None if env is None else env[1]


def st_min_y(blob: bytes | None) -> float | None:
    """SQL ``ST_MinY``: minimum y of the envelope; NULL for NULL or empty."""
    env = None if blob is None else _fast_envelope(blob)
    return None if env is None else env[2]


def st_max_y(blob: bytes | None) -> float | None:
    """SQL ``ST_MaxY``: maximum y of the envelope; NULL for NULL or empty."""
    env = None if blob is None else _fast_envelope(blob)
    return None if env is None else env[3]


def register_sql_functions(connection: sqlite3.Connection) -> None:
    """Install ``ST_IsEmpty``, ``ST_MinX``, ``ST_MaxX``, ``ST_MinY``, ``ST_MaxY``.

    The GeoPackage rtree triggers call them on every write of a geometry; they are
    registered as deterministic so SQLite may use them in indexes and constant folding.
    """
    connection.create_function("ST_IsEmpty", 1, st_is_empty, deterministic=True)
    connection.create_function("ST_MinX", 1, st_min_x, deterministic=True)
    connection.create_function("ST_MaxX", 1, st_max_x, deterministic=True)
    connection.create_function("ST_MinY", 1, st_min_y, deterministic=True)
    connection.create_function("ST_MaxY", 1, st_max_y, deterministic=True)
