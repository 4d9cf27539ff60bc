"""The canonical AR overlay: what is shown, where it is anchored, which 3D asset it uses.

An overlay is anchored by an OGC GeoPose 1.0 Basic-Quaternion in the local
East-North-Up frame with the height above the WGS84 ellipsoid (:class:`Anchor`);
client conventions (ARCore's East-Up-South, ARKit's mean-sea-level heights) are
derived from it when the overlay is serialized, by :mod:`ar_assets.geopose`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry

__all__ = [
    "KIND_DETAIL",
    "KIND_LAYER",
    "Anchor",
    "Convention",
    "Detail",
    "Layer",
    "Overlay",
    "OverlayKind",
]


class OverlayKind(StrEnum):
    """What an overlay depicts."""

    TOWER_MARKER = "tower_marker"
    TIER_RING = "tier_ring"
    HEAT_PATCH = "heat_patch"
    REMEDY_ZONE = "remedy_zone"
    FORECAST_FRONT = "forecast_front"


class Layer(StrEnum):
    """The subscription layers a client chooses from."""

    TOWERS = "towers"
    TIERS = "tiers"
    HEAT = "heat"
    ZONES = "zones"
    FRONTS = "fronts"


class Detail(StrEnum):
    """Level of detail: ``far`` overlays show in the whole range, ``near`` ones only close by."""

    FAR = "far"
    NEAR = "near"


class Convention(StrEnum):
    """How a client wants poses expressed (chosen at subscribe time)."""

    GEOPOSE = "geopose"  # ENU quaternion, height above the WGS84 ellipsoid (the default)
    ARCORE = "arcore"  # East-Up-South quaternion (ARCore / OpenXR), ellipsoidal height
    ARKIT = "arkit"  # East-Up-South quaternion, height above mean sea level (EGM2008 geoid)


KIND_LAYER: dict[OverlayKind, Layer] = {
    OverlayKind.TOWER_MARKER: Layer.TOWERS,
    OverlayKind.TIER_RING: Layer.TIERS,
    OverlayKind.HEAT_PATCH: Layer.HEAT,
    OverlayKind.REMEDY_ZONE: Layer.ZONES,
    OverlayKind.FORECAST_FRONT: Layer.FRONTS,
}

KIND_DETAIL: dict[OverlayKind, Detail] = {
    OverlayKind.TOWER_MARKER: Detail.FAR,
    OverlayKind.TIER_RING: Detail.NEAR,
    OverlayKind.HEAT_PATCH: Detail.NEAR,
    OverlayKind.REMEDY_ZONE: Detail.NEAR,
    OverlayKind.FORECAST_FRONT: Detail.FAR,
}


@dataclass(frozen=True, slots=True)
class Anchor:
    """A GeoPose Basic-Quaternion in ENU with an ellipsoidal height.

    Attributes
    ----------
    lon, lat : float
        WGS84 degrees.
    h_ellipsoid_m : float
        Height above the WGS84 ellipsoid, metres.
    quaternion_enu : (x, y, z, w)
        Rotation of the asset's frame relative to local East-North-Up; unit length.
        The identity means the asset's +X points east, +Y north, +Z up.
    """

    lon: float
    lat: float
    h_ellipsoid_m: float
    quaternion_enu: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Overlay:
    """One thing an AR client shows.

    ``version`` increases whenever anything else about the overlay changes; the
    stream uses ``(id, version)`` to send each change once and to serialize each
    version once per convention.

    ``footprint_wgs84`` is the ground outline the asset covers (lon/lat), when it is
    more than a point: a ring's disc, a heat patch's square, a zone's polygon. The
    stream measures near detail by the distance to it rather than to the anchor, so
    a viewer at the corner of four heat patches, or inside a large zone, sees them.
    It is not sent to clients (the asset carries the shape).

    ``height_above_ground_m`` is the anchor's height above the ground it stands on
    (the tower's base for markers and rings, the district's ground for heat patches
    and zones), in metres, or None when unknown. Sent to clients so that they can
    use terrain or rooftop anchors (ARCore ``createTerrainAnchor``/
    ``createRooftopAnchor``) instead of the ellipsoidal height.
    """

    id: str
    kind: OverlayKind
    version: int
    anchor: Anchor
    asset: str
    style: Mapping[str, Any] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict)
    footprint_wgs84: BaseGeometry | None = None
    height_above_ground_m: float | None = None

    @property
    def layer(self) -> Layer:
        """The subscription layer this overlay belongs to."""
        return KIND_LAYER[self.kind]

    @property
    def detail(self) -> Detail:
        """Whether it shows in the whole range (far) or only near the viewer."""
        return KIND_DETAIL[self.kind]

    def content(self) -> tuple[Any, ...]:
        """Everything but the version: equal content means no new version is needed."""
        return (
            self.kind,
            self.anchor,
            self.asset,
            self.height_above_ground_m,
            tuple(sorted(self.style.items())),
            tuple(sorted((k, repr(v)) for k, v in self.properties.items())),
        )
