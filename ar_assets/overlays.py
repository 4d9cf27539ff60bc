"""Overlays from the computed state: tower markers, tier rings, heat patches, remedy zones.

Pure functions: they take towers, per-tier values, the field grid and the zones,
put the GLB assets they need into an :class:`~ar_assets.assets.AssetStore` and
return complete overlay sets with version 0 (the
:class:`~ar_assets.catalog.OverlayCatalog` assigns versions). Ids are deterministic:
``tower:<id>``, ``tier:<id>:<level>``, ``heat:<i>:<j>``, ``zone:<zone id>``.

Numbers in styles and properties are rounded to 4 decimals and missing values are
``None`` (JSON ``null``): content only changes, and a new version is only sent, when
something a person could see changed. Identical inputs give identical GLB bytes, so
unchanged overlays keep their asset URL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import shapely
import shapely.affinity
from pyproj import Geod
from shapely.geometry import Polygon

from ar_assets.anchors import local_anchor
from ar_assets.assets import AssetStore
from ar_assets.geopose import geopose, pose_frame
from ar_assets.gltf.builders import (
    heat_patch_glb,
    tier_ring_glb,
    tower_marker_glb,
    zone_volume_glb,
)
from ar_assets.overlay import Anchor, Convention, Overlay, OverlayKind
from ar_assets.textures import cell_window, heat_patch_png
from geo.colormap import COLORMAPS, Colormap
from geo.crs import LocalFrame
from geo.errors import InvalidCRS, InvalidParameter
from geo.grid import Grid
from geo.layer import Tower
from geo.zones import RemedyZone

__all__ = [
    "HEAT_LIFT_M",
    "HEAT_OPACITY",
    "NO_DATA_RGBA",
    "RING_MARGIN_M",
    "RING_THICKNESS_M",
    "ZONE_ALPHA",
    "ZONE_HEIGHT_M",
    "heat_overlays",
    "overlay_message",
    "tower_overlays",
    "zone_overlays",
]

TierKey = tuple[str, int]
VersionOf = Callable[[str], int]

NO_DATA_RGBA = (158, 158, 158, 255)
"""Neutral grey for towers and tiers without an estimate."""
RING_THICKNESS_M = 0.15
"""Tube diameter of a tier ring."""
RING_MARGIN_M = 1.0
"""A ring's radius is the footprint's half-diagonal plus this."""
MIN_MARKER_RADIUS_M = 0.5
"""Footprint radius of the marker of a tower mapped as a point."""
HEAT_OPACITY = 0.8
"""Alpha of the heat patches' cells with a value."""
HEAT_LIFT_M = 0.05
"""Heat patches float this far above the ground so they never z-fight zone floors."""
ZONE_HEIGHT_M = 2.0
ZONE_ALPHA = 140
"""Alpha (of 255) of remedy zone volumes: translucent."""

_GEOD = Geod(ellps="WGS84")


def _num(value: Any) -> float | None:
    """A JSON-safe number rounded to 4 decimals, or None when missing/NaN."""
    if value is None:
        return None
    number = float(value)
    return round(number, 4) if math.isfinite(number) else None


def _rgba(cmap: Colormap, value: float | None, alpha: int = 255) -> tuple[int, int, int, int]:
    if value is None:
        return (*NO_DATA_RGBA[:3], alpha)
    r, g, b, _ = (int(c) for c in cmap.rgba(value))
    return (r, g, b, alpha)


def _hex(rgba: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def _footprint_radii_m(tower: Tower) -> tuple[float, float]:
    """(half-diagonal, equal-area radius) of a footprint in metres; 0, 0 for a point.

    The half-diagonal is the largest geodesic distance from the centroid to a vertex
    of the footprint (exactly half the diagonal for a rectangle).
    """
    geom = tower.footprint_wgs84
    if geom.geom_type != "Polygon":
        return 0.0, 0.0
    lon0, lat0 = tower.centroid_lonlat
    ring = np.asarray(geom.exterior.coords)
    _, _, dist = _GEOD.inv(
        np.full(len(ring), lon0), np.full(len(ring), lat0), ring[:, 0], ring[:, 1]
    )
    area_m2, _ = _GEOD.geometry_area_perimeter(geom)
    return float(np.max(dist)), math.sqrt(abs(area_m2) / math.pi)


def _footprint_en_m(tower: Tower) -> Polygon | None:
    """A Polygon footprint in metres east, north of its centroid (geodesic azimuth and
    distance of each vertex), for the tower's occluder; None for a point footprint."""
    geom = tower.footprint_wgs84
    if geom.geom_type != "Polygon":
        return None
    lon0, lat0 = tower.centroid_lonlat

    def local(coords: Any) -> list[tuple[float, float]]:
        ring = np.asarray(coords)
        az, _, dist = _GEOD.inv(
            np.full(len(ring), lon0), np.full(len(ring), lat0), ring[:, 0], ring[:, 1]
        )
        rad = np.radians(az)
        return list(zip(dist * np.sin(rad), dist * np.cos(rad), strict=True))

    polygon = Polygon(local(geom.exterior.coords), [local(r.coords) for r in geom.interiors])
    return polygon if polygon.is_valid and polygon.area > 0 else None


def _disc_wgs84(lon: float, lat: float, radius_m: float, sides: int = 24) -> Polygon:
    """A geodesic disc of ``radius_m`` around ``lon, lat`` as a polygon (a ring's footprint)."""
    azimuths = np.linspace(0.0, 360.0, sides, endpoint=False)
    lons, lats, _ = _GEOD.fwd(
        np.full(sides, lon), np.full(sides, lat), azimuths, np.full(sides, radius_m)
    )
    return Polygon(np.column_stack([lons, lats]))


def _tier_estimate(
    tier_values: Mapping[TierKey, tuple[float, float]] | None, key: TierKey
) -> tuple[float | None, float | None]:
    if tier_values is None or key not in tier_values:
        return None, None
    value, se = tier_values[key]
    return _num(value), _num(se)


def tower_overlays(
    towers: Sequence[Tower],
    tier_values: Mapping[TierKey, tuple[float, float]] | None,
    assets: AssetStore,
    version_of: VersionOf | None = None,
    *,
    interpolated_at: datetime | None = None,
) -> list[Overlay]:
    """A ``tower_marker`` per tower and a ``tier_ring`` per tier.

    Parameters
    ----------
    towers : sequence of Tower
    tier_values : mapping (tower_id, level) -> (value, std_error), optional
        Interpolated intensity in [0, 1] and its standard error at each tier;
        missing or NaN entries show as "no estimate" (grey, ``None``).
    assets : AssetStore
        Receives the GLBs.
    version_of : callable id -> int, optional
        Version to build each overlay with (0 when omitted: let the catalog count).
    interpolated_at : datetime, optional
        When the tier values were estimated, written as ISO 8601 in the rings'
        properties. Pass a time that only changes with the data (the field's
        reference time), or every ring gets a new version on every rebuild.

    Returns
    -------
    list of Overlay
        Per tower: the marker (anchored at the footprint centroid on the tower's
        base, coloured by its highest tier value) then its rings (anchored at the
        centroid at base + tier height, radius = footprint half-diagonal + 1 m).
    """
    stamp = interpolated_at.isoformat() if interpolated_at is not None else None
    out: list[Overlay] = []
    for tower in towers:
        half_diagonal_m, equal_area_m = _footprint_radii_m(tower)
        estimates = [_tier_estimate(tier_values, (tower.id, t.level)) for t in tower.tiers]
        known = [v for v, _ in estimates if v is not None]
        peak = max(known) if known else None
        rgba = _rgba(COLORMAPS["intensity"], peak)
        marker = tower_marker_glb(
            tower.height_m,
            max(equal_area_m, MIN_MARKER_RADIUS_M),
            rgba,
            footprint_local=_footprint_en_m(tower),
        )
        marker_id = f"tower:{tower.id}"
        out.append(
            Overlay(
                id=marker_id,
                kind=OverlayKind.TOWER_MARKER,
                version=version_of(marker_id) if version_of else 0,
                anchor=Anchor(*tower.centroid_lonlat, tower.base_height_m),
                height_above_ground_m=0.0,
                asset=assets.put(marker),
                style={"color": _hex(rgba), "label": tower.name or tower.id},
                properties={"tower_id": tower.id, "intensity_max": peak},
            )
        )
        for tier, (value, se) in zip(tower.tiers, estimates, strict=True):
            ring_id = f"tier:{tower.id}:{tier.level}"
            rgba = _rgba(COLORMAPS["intensity"], value)
            ring_radius_m = half_diagonal_m + RING_MARGIN_M
            ring = tier_ring_glb(ring_radius_m, RING_THICKNESS_M, rgba)
            out.append(
                Overlay(
                    id=ring_id,
                    kind=OverlayKind.TIER_RING,
                    version=version_of(ring_id) if version_of else 0,
                    anchor=Anchor(*tower.centroid_lonlat, tower.base_height_m + tier.height_m),
                    height_above_ground_m=tier.height_m,
                    asset=assets.put(ring),
                    style=_ring_style(f"{tower.name or tower.id} tier {tier.level}", value, se),
                    properties={
                        "tower_id": tower.id,
                        "tier": tier.level,
                        "intensity": value,
                        "std_error": se,
                        "interpolated_at": stamp,
                    },
                    footprint_wgs84=_disc_wgs84(*tower.centroid_lonlat, ring_radius_m),
                )
            )
    return out


def _ring_style(label: str, value: float | None, se: float | None) -> dict[str, Any]:
    return {
        "color": _hex(_rgba(COLORMAPS["intensity"], value)),
        "intensity": value,
        "uncertainty": se,
        "uncertainty_color": COLORMAPS["uncertainty"].hex(se) if se is not None else None,
        "label": label,
    }


def heat_overlays(
    grid: Grid,
    frame: LocalFrame,
    base_height_m: float,
    assets: AssetStore,
    tile_m: float = 100.0,
    *,
    colormap: Colormap | None = None,
    opacity: float = HEAT_OPACITY,
) -> list[Overlay]:
    """The field cut into square heat patches on the ground, one overlay per tile.

    Tiles are squares of ``tile_m`` aligned on multiples of ``tile_m`` in the
    frame, so tile ``(i, j)`` covers ``x`` in ``[i, i + 1) * tile_m`` and ``y`` in
    ``[j, j + 1) * tile_m`` whatever the grid's extent, and its id ``heat:<i>:<j>``
    stays the same from one field to the next. A patch holds the cells whose centre
    lies in its tile (one texture pixel each), is anchored at the centre of those
    cells ``HEAT_LIFT_M`` above ``base_height_m`` (ellipsoidal) and turned to grid
    north. Tiles without any value are left out.

    Raises
    ------
    InvalidCRS
        If the grid is not in the frame's CRS.
    InvalidParameter
        If ``tile_m`` is not a positive number of metres.
    """
    if not grid.spec.crs.equals(frame.crs, ignore_axis_order=True):
        raise InvalidCRS("the grid must be in the frame's CRS", "grid")
    if not (math.isfinite(tile_m) and tile_m > 0):
        raise InvalidParameter("must be a positive number of metres", "tile_m")
    cmap = colormap if colormap is not None else COLORMAPS["intensity"]
    minx, miny, maxx, maxy = grid.spec.bounds_m
    out: list[Overlay] = []
    for j in range(math.floor(miny / tile_m), math.ceil(maxy / tile_m)):
        for i in range(math.floor(minx / tile_m), math.ceil(maxx / tile_m)):
            tile = (i * tile_m, j * tile_m, (i + 1) * tile_m, (j + 1) * tile_m)
            window = cell_window(grid.spec, tile)
            if window.empty:
                continue
            values = grid.values[
                window.row_start : window.row_stop, window.col_start : window.col_stop
            ]
            if not np.any(np.isfinite(values)):
                continue
            out.append(
                _heat_patch(grid, frame, base_height_m, assets, (i, j), tile, values, cmap, opacity)
            )
    return out


def _heat_patch(
    grid: Grid,
    frame: LocalFrame,
    base_height_m: float,
    assets: AssetStore,
    ij: tuple[int, int],
    tile: tuple[float, float, float, float],
    values: np.ndarray[Any, Any],
    cmap: Colormap,
    opacity: float,
) -> Overlay:
    window = cell_window(grid.spec, tile)
    x0, y0, x1, y1 = window.bounds_m
    png = heat_patch_png(grid, tile, cmap, opacity=opacity)
    glb = heat_patch_glb(x1 - x0, y1 - y0, png)
    finite = values[np.isfinite(values)]
    return Overlay(
        id=f"heat:{ij[0]}:{ij[1]}",
        kind=OverlayKind.HEAT_PATCH,
        version=0,
        anchor=local_anchor(frame, (x0 + x1) / 2.0, (y0 + y1) / 2.0, base_height_m + HEAT_LIFT_M),
        height_above_ground_m=HEAT_LIFT_M,
        asset=assets.put(glb),
        style={"colormap": cmap.name, "opacity": opacity},
        properties={
            "tile": [ij[0], ij[1]],
            "bounds_local": [x0, y0, x1, y1],
            "resolution_m": grid.spec.resolution_m,
            "cells": int(finite.size),
            "mean_intensity": _num(finite.mean()),
            "max_intensity": _num(finite.max()),
        },
        footprint_wgs84=frame.geometry_to_wgs84(shapely.box(x0, y0, x1, y1)),
    )


def zone_overlays(
    zones: Sequence[RemedyZone],
    frame: LocalFrame,
    base_height_m: float,
    assets: AssetStore,
    *,
    height_m: float = ZONE_HEIGHT_M,
) -> list[Overlay]:
    """A translucent ``remedy_zone`` volume per zone, ``height_m`` tall on the ground.

    Each zone is anchored at its polygon's centroid on the ground (``base_height_m``,
    ellipsoidal), turned to grid north, and coloured by its severity band (the
    intensity colormap at the middle of the band's range).
    """
    out: list[Overlay] = []
    for zone in zones:
        centre = zone.geometry_local.centroid
        cx, cy = float(centre.x), float(centre.y)
        polygon = shapely.affinity.translate(zone.geometry_local, -cx, -cy)
        band_mid = (zone.threshold_min + zone.threshold_max) / 2.0
        rgba = _rgba(COLORMAPS["intensity"], band_mid, ZONE_ALPHA)
        out.append(
            Overlay(
                id=f"zone:{zone.id}",
                kind=OverlayKind.REMEDY_ZONE,
                version=0,
                anchor=local_anchor(frame, cx, cy, base_height_m),
                height_above_ground_m=0.0,
                asset=assets.put(zone_volume_glb(polygon, height_m, rgba)),
                style={
                    "color": _hex(rgba),
                    "opacity": round(ZONE_ALPHA / 255.0, 4),
                    "label": f"Zone {zone.rank}",
                },
                properties={
                    "zone_id": zone.id,
                    "band": zone.band,
                    "priority": _num(zone.priority),
                    "rank": zone.rank,
                    "dose_l_per_m2": _num(zone.dose_l_per_m2),
                    "total_dose_l": _num(zone.total_dose_l),
                    "area_m2": _num(zone.area_m2),
                    "mean_intensity": _num(zone.mean_intensity),
                    "towers": list(zone.towers),
                },
                footprint_wgs84=zone.geometry_wgs84,
            )
        )
    return out


def overlay_message(
    overlay: Overlay, convention: Convention = Convention.GEOPOSE
) -> dict[str, Any]:
    """The JSON-ready form of an overlay for a client using ``convention``.

    ``{"id", "kind", "layer", "version", "geopose", "pose_frame", "asset", "style",
    "properties"}``, with the pose from :func:`ar_assets.geopose.geopose` and its axes
    and vertical datum from :func:`ar_assets.geopose.pose_frame`, plus
    ``height_above_ground_m`` when the overlay knows it.
    """
    message: dict[str, Any] = {
        "id": overlay.id,
        "kind": overlay.kind.value,
        "layer": overlay.layer.value,
        "version": overlay.version,
        "geopose": geopose(overlay.anchor, convention),
        "pose_frame": pose_frame(convention),
        "asset": overlay.asset,
        "style": dict(overlay.style),
        "properties": dict(overlay.properties),
    }
    if overlay.height_above_ground_m is not None:
        message["height_above_ground_m"] = round(overlay.height_above_ground_m, 3)
    return message
