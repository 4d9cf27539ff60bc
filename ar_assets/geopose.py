"""OGC GeoPose 1.0 Basic-Quaternion poses of an :class:`~ar_assets.overlay.Anchor`.

Frames
------
ENU
    The local tangent frame of GeoPose: x east, y north, z up. An anchor's
    ``quaternion_enu`` rotates the asset's frame into it; the identity means the
    asset's +x is east, +y north, +z up.
EUS
    ARCore's Geospatial API (and OpenXR's stage convention): X east, Y up, Z south.
    ``Earth.createAnchor(lat, lng, altitude, qx, qy, qz, qw)`` takes a rotation
    "with respect to an east-up-south coordinate frame"; the identity has the
    anchor's +X east, +Y up, +Z south, which is exactly the frame of our glTF assets
    (glTF is +Y up; we build assets with east -> +X, up -> +Y, north -> -Z).

ENU to EUS
----------
Coordinates change by the fixed proper rotation ``M`` (a -90 degree turn about the
east axis)::

    (e, n, u) -> (e, u, -n)        M = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]

A rotation ``R`` expressed in ENU becomes ``M R M^-1`` in EUS (the same physical
rotation seen in the other frame). For a unit quaternion ``q = (v, w)`` conjugating
by ``M``'s quaternion ``m`` rotates the vector part and keeps the scalar part:
``m q m* = (M v, w)``, so ``(x, y, z, w)_ENU -> (x, z, -y, w)_EUS``
(:func:`enu_to_eus`). The asset frame follows the same map: the Z-up asset frame of
GeoPose and the Y-up glTF frame are related by ``M`` too, so an asset whose up axis
is ENU up in GeoPose has its glTF +Y along EUS +Y in ARCore.

ENU to Unity's East-Up-North
----------------------------
Unity (ARCore Extensions' ``ARAnchorManager.AddAnchor(lat, lng, alt, eunRotation)``)
is left-handed with x east, y up, z north. The map ``(e, n, u) -> (e, u, n)`` is a
reflection ``P``; ``P R P`` equals ``(-P) R (-P)`` where ``-P`` is the half turn
about ``(0, 1, -1)/sqrt 2``, so the quaternion's vector part is turned by that half
turn: ``(x, y, z, w)_ENU -> (-x, -z, -y, w)_EUN``, and from East-Up-South
``(x, y, z, w)_EUS -> (-x, -y, z, w)_EUN`` (:func:`enu_to_unity_eun`). Unity's
``Quaternion`` uses the same algebra, so it rotates EUN coordinates exactly as the
ENU quaternion rotates ENU ones.

Heights
-------
:attr:`Convention.GEOPOSE` and :attr:`Convention.ARCORE` use the height above the
WGS84 ellipsoid (``Earth.createAnchor`` takes ellipsoidal altitude);
:attr:`Convention.ARKIT` uses the height above mean sea level,
``h - N(lon, lat)`` with the EGM2008 geoid (:mod:`ar_assets.geoid`), and the same
East-Up-South orientation as ARCore: ARKit's ``gravityAndHeading`` world alignment
has x east, y up and z south.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ar_assets.geoid import height_msl_m
from ar_assets.overlay import Anchor, Convention
from geo.crs import check_lonlat
from geo.errors import InvalidParameter

__all__ = [
    "IDENTITY",
    "Quaternion",
    "enu_to_eus",
    "enu_to_unity_eun",
    "geopose",
    "normalize",
    "pose_frame",
    "quaternion_from_heading",
    "quaternion_multiply",
    "rotate_vector",
]

Quaternion = tuple[float, float, float, float]
"""``(x, y, z, w)``: vector part first, as in GeoPose and glTF."""

IDENTITY: Quaternion = (0.0, 0.0, 0.0, 1.0)


def normalize(q: Sequence[float]) -> Quaternion:
    """``q`` scaled to unit length, with ``w >= 0`` (``q`` and ``-q`` are one rotation).

    Raises
    ------
    InvalidParameter
        If ``q`` does not have 4 finite components or has zero length.
    """
    if len(q) != 4 or not all(math.isfinite(c) for c in q):
        raise InvalidParameter("a quaternion needs 4 finite components", "quaternion")
    norm = math.sqrt(sum(c * c for c in q))
    if norm < 1e-12:
        raise InvalidParameter("a quaternion of zero length is no rotation", "quaternion")
    sign = -1.0 if q[3] < 0 else 1.0
    x, y, z, w = (sign * c / norm for c in q)
    return (x + 0.0, y + 0.0, z + 0.0, w + 0.0)  # + 0.0 turns -0.0 into 0.0


def quaternion_multiply(a: Sequence[float], b: Sequence[float]) -> Quaternion:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def rotate_vector(q: Sequence[float], v: Sequence[float]) -> tuple[float, float, float]:
    """The vector ``v`` rotated by the unit quaternion ``q`` (``q v q*``)."""
    x, y, z, w = q
    conjugate = (-x, -y, -z, w)
    rx, ry, rz, _ = quaternion_multiply(quaternion_multiply(q, (v[0], v[1], v[2], 0.0)), conjugate)
    return (rx, ry, rz)


def quaternion_from_heading(heading_deg: float) -> Quaternion:
    """ENU rotation about the up axis that turns north to the compass ``heading_deg``.

    The heading is clockwise from north, as on a compass, so 90 turns the asset's
    +y (north) to east: a rotation of ``-heading`` about +z (up).

    Raises
    ------
    InvalidParameter
        If the heading is not finite.

    Examples
    --------
    >>> q = quaternion_from_heading(90.0)
    >>> [round(c, 12) + 0.0 for c in rotate_vector(q, (0.0, 1.0, 0.0))]
    [1.0, 0.0, 0.0]
    """
    if not math.isfinite(heading_deg):
        raise InvalidParameter("must be a finite number of degrees", "heading_deg")
    half = -math.radians(heading_deg) / 2.0
    return normalize((0.0, 0.0, math.sin(half), math.cos(half)))


def enu_to_eus(q: Sequence[float]) -> Quaternion:
    """The rotation ``q`` (relative to East-North-Up) expressed relative to East-Up-South.

    ``(x, y, z, w) -> (x, z, -y, w)``: see the module docstring for the derivation.
    """
    x, y, z, w = normalize(q)
    return normalize((x, z, -y, w))


def enu_to_unity_eun(q: Sequence[float]) -> Quaternion:
    """The rotation ``q`` (relative to ENU) as Unity's East-Up-North (left-handed) quaternion.

    ``(x, y, z, w) -> (-x, -z, -y, w)``: see the module docstring. A heading of 90
    degrees (north turned to east) becomes a positive turn about Unity's +y:

    >>> [round(c, 4) + 0.0 for c in enu_to_unity_eun(quaternion_from_heading(90.0))]
    [0.0, 0.7071, 0.0, 0.7071]
    """
    x, y, z, w = normalize(q)
    return normalize((-x, -z, -y, w))


def pose_frame(convention: Convention = Convention.GEOPOSE) -> dict[str, str]:
    """The frame and vertical datum of the poses sent in ``convention``.

    ``{"axes": "ENU" | "EUS", "height": "ellipsoid" | "egm2008"}``: the axes the
    quaternion is relative to (East-North-Up, or East-Up-South as ARCore and ARKit's
    ``gravityAndHeading`` use), and what ``h`` is measured from (the WGS84 ellipsoid,
    EPSG:4979, or the EGM2008 geoid, EPSG:3855).
    """
    convention = Convention(convention)
    axes = "ENU" if convention is Convention.GEOPOSE else "EUS"
    height = "egm2008" if convention is Convention.ARKIT else "ellipsoid"
    return {"axes": axes, "height": height}


def geopose(anchor: Anchor, convention: Convention = Convention.GEOPOSE) -> dict[str, Any]:
    """The GeoPose Basic-Quaternion of ``anchor`` in a client's convention.

    Returns
    -------
    dict
        ``{"position": {"lat", "lon", "h"}, "quaternion": {"x", "y", "z", "w"}}`` with
        finite floats and a unit quaternion (``w >= 0``); valid against
        ``GeoPose.Basic.Quaternion`` and ``GeoPose.Basic.Strict_Quaternion``.

        - ``GEOPOSE``: ENU quaternion, ``h`` above the WGS84 ellipsoid;
        - ``ARCORE``: East-Up-South quaternion, ``h`` above the ellipsoid;
        - ``ARKIT``: East-Up-South quaternion (ARKit's ``gravityAndHeading`` world
          alignment: x east, y up, z south), ``h`` above mean sea level (EGM2008), as
          ``ARGeoAnchor`` altitudes are.

    Raises
    ------
    InvalidGeometry
        If the anchor's lon/lat are not finite or out of range.
    InvalidParameter
        If its height is not finite or its quaternion is not a rotation.
    GeoidUnavailable
        For ``ARKIT`` when the geoid grid is not installed.
    """
    check_lonlat(anchor.lon, anchor.lat, "anchor")
    if not math.isfinite(anchor.h_ellipsoid_m):
        raise InvalidParameter("must be a finite number of metres", "h_ellipsoid_m")
    convention = Convention(convention)
    q = normalize(anchor.quaternion_enu)
    h = anchor.h_ellipsoid_m
    if convention in (Convention.ARCORE, Convention.ARKIT):
        q = enu_to_eus(q)
    if convention is Convention.ARKIT:
        h = height_msl_m(anchor.lon, anchor.lat, h)
    x, y, z, w = q
    return {
        "position": {"lat": float(anchor.lat), "lon": float(anchor.lon), "h": float(h)},
        "quaternion": {"x": x, "y": y, "z": z, "w": w},
    }
