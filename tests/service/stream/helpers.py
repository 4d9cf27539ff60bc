"""Overlays, viewers and a stand-in serializer for the stream tests."""

from __future__ import annotations

import math
from typing import Any

import orjson

from ar_assets.overlay import Anchor, Convention, Overlay, OverlayKind
from service.stream.geometry import EARTH_RADIUS_M
from service.stream.schema import validator
from service.stream.session import Session

ORIGIN = (5.1214, 52.0907)  # Utrecht
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M


def lonlat(east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m``, ``north_m`` metres from :data:`ORIGIN` (equirectangular)."""
    lon0, lat0 = ORIGIN
    return (
        lon0 + east_m / (_M_PER_DEG * math.cos(math.radians(lat0))),
        lat0 + north_m / _M_PER_DEG,
    )


def overlay(
    overlay_id: str,
    east_m: float = 0.0,
    north_m: float = 0.0,
    *,
    version: int = 1,
    kind: OverlayKind = OverlayKind.TOWER_MARKER,
    **properties: Any,
) -> Overlay:
    """An overlay at ``east_m``, ``north_m`` from the origin."""
    lon, lat = lonlat(east_m, north_m)
    return Overlay(
        id=overlay_id,
        kind=kind,
        version=version,
        anchor=Anchor(lon, lat, 45.0),
        asset=f"{kind.value}.glb",
        properties=properties,
    )


def serialize(item: Overlay, convention: Convention) -> dict[str, Any]:
    """A stand-in for ``ar_assets.overlays.overlay_message``."""
    a = item.anchor
    x, y, z, w = a.quaternion_enu
    return {
        "id": item.id,
        "version": item.version,
        "kind": item.kind.value,
        "layer": item.layer.value,
        "convention": convention.value,
        "geopose": {
            "position": {"lon": a.lon, "lat": a.lat, "h": a.h_ellipsoid_m},
            "quaternion": {"x": x, "y": y, "z": z, "w": w},
        },
        "asset": item.asset,
        "properties": dict(item.properties),
    }


def viewer(east_m: float = 0.0, north_m: float = 0.0) -> dict[str, Any]:
    """A GeoPose Basic-Quaternion at ``east_m``, ``north_m`` from the origin."""
    lon, lat = lonlat(east_m, north_m)
    return {
        "position": {"lon": lon, "lat": lat, "h": 47.0},
        "quaternion": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }


def subscribe(
    east_m: float = 0.0, north_m: float = 0.0, range_m: float = 200.0, **extra: Any
) -> dict[str, Any]:
    """A subscribe message."""
    return {"type": "subscribe", "viewer": viewer(east_m, north_m), "range_m": range_m, **extra}


def move(east_m: float, north_m: float = 0.0) -> dict[str, Any]:
    """A move message."""
    return {"type": "move", "viewer": viewer(east_m, north_m)}


def decode(messages: list[bytes]) -> list[dict[str, Any]]:
    """Parse sent messages."""
    return [orjson.loads(m) for m in messages]


def ids(items: list[dict[str, Any]]) -> set[str]:
    """Ids of serialized overlays."""
    return {o["id"] for o in items}


def drain(session: Session) -> list[dict[str, Any]]:
    """Take the session's outgoing messages, check each against the protocol schema, parse."""
    check = validator("server_message")
    out = []
    for message in session.outgoing():
        assert isinstance(message, bytes)
        parsed = orjson.loads(message)
        check.validate(parsed)
        out.append(parsed)
    return out
