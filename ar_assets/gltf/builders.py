"""The GLB assets of the overlays, in metres in the anchor's frame (+Y up, north -Z).

Each builder is cached by its parameters and deterministic, so an overlay whose
content did not change gets byte-identical GLB bytes and keeps its asset hash.
Colours are 8-bit sRGB ``(r, g, b, a)`` as :meth:`geo.colormap.Colormap.rgba` gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import shapely
from shapely.geometry import Polygon

from ar_assets.gltf.glb import PbrMaterial, encode_glb
from ar_assets.gltf.shapes import cylinder, extruded_polygon, ground_quad, torus
from geo.errors import InvalidParameter

__all__ = [
    "BASE_DISC_HEIGHT_M",
    "heat_patch_glb",
    "tier_ring_glb",
    "tower_marker_glb",
    "zone_volume_glb",
]

BASE_DISC_HEIGHT_M = 0.05
"""Thickness of the disc that marks a tower's footprint on the ground."""

_CACHE_SIZE = 1024
Rgba8 = tuple[int, int, int, int]


def _rgba(rgba: Sequence[int]) -> Rgba8:
    if len(rgba) != 4 or not all(0 <= int(c) <= 255 for c in rgba):
        raise InvalidParameter("must be 4 integers within [0, 255]", "rgba")
    r, g, b, a = (int(c) for c in rgba)
    return (r, g, b, a)


def _metres(value: float, name: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise InvalidParameter("must be a positive, finite number of metres", name)
    return float(value)


def tower_marker_glb(
    height_m: float,
    footprint_radius_m: float,
    rgba: Sequence[int],
    footprint_local: Polygon | None = None,
) -> bytes:
    """A pin for a tower: a slim column ``height_m`` tall on a disc of the footprint.

    The disc (``footprint_radius_m``, 5 cm thick) marks the ground; the column's
    radius is a tenth of the footprint radius, between 0.1 and 0.3 m. The origin is
    the centre of the tower's base; the marker spans ``y`` from 0 to ``height_m``.
    The pin is unlit and emissive in ``rgba`` (its colour is the legend's).

    With ``footprint_local`` (the tower's footprint in metres east, north of the
    anchor), the GLB also holds the tower's occluder: the footprint extruded to
    ``height_m`` in a second node flagged with
    :data:`ar_assets.gltf.glb.OCCLUDER_EXTRAS`, to be drawn depth-only so that the
    real tower hides the far side of its rings.
    """
    if footprint_local is not None and not isinstance(footprint_local, Polygon):
        raise InvalidParameter("must be a shapely Polygon", "footprint_local")
    return _tower_marker(
        _metres(height_m, "height_m"),
        _metres(footprint_radius_m, "footprint_radius_m"),
        _rgba(rgba),
        shapely.to_wkb(footprint_local, output_dimension=2) if footprint_local else None,
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _tower_marker(
    height_m: float, footprint_radius_m: float, rgba: Rgba8, footprint_wkb: bytes | None
) -> bytes:
    material = _glowing("tower", rgba, roughness=0.6)
    pin_radius_m = min(max(0.1 * footprint_radius_m, 0.1), 0.3)
    disc = cylinder(footprint_radius_m, min(BASE_DISC_HEIGHT_M, height_m / 2.0), segments=32)
    column = cylinder(min(pin_radius_m, footprint_radius_m), height_m, segments=16)
    occluder = extruded_polygon(shapely.from_wkb(footprint_wkb), height_m) if footprint_wkb else []
    return encode_glb(
        "tower_marker", [(part, material) for part in (*disc, *column)], occluder=occluder
    )


def _glowing(name: str, rgba: Rgba8, roughness: float, double_sided: bool = False) -> PbrMaterial:
    """A material whose colour carries data: unlit, and emissive for clients without
    ``KHR_materials_unlit``, so light estimation cannot shift it off the legend."""
    return PbrMaterial(
        name, rgba, roughness=roughness, double_sided=double_sided, unlit=True, emissive=True
    )


def tier_ring_glb(radius_m: float, thickness_m: float, rgba: Sequence[int]) -> bytes:
    """A horizontal ring (torus) of ``radius_m`` around the anchor, at the anchor's height.

    ``thickness_m`` is the diameter of the tube; the ring's outer radius is
    ``radius_m + thickness_m / 2``.
    """
    return _tier_ring(
        _metres(radius_m, "radius_m"), _metres(thickness_m, "thickness_m"), _rgba(rgba)
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _tier_ring(radius_m: float, thickness_m: float, rgba: Rgba8) -> bytes:
    material = _glowing("tier", rgba, roughness=0.5)
    return encode_glb("tier_ring", [(torus(radius_m, thickness_m / 2.0), material)])


def heat_patch_glb(width_m: float, depth_m: float, png_bytes: bytes) -> bytes:
    """A textured rectangle on the ground: ``width_m`` west-east by ``depth_m`` north-south.

    The PNG is embedded; its top-left pixel lies on the north-west corner (see
    :func:`ar_assets.textures.heat_patch_png`). Unlit where the client supports
    ``KHR_materials_unlit`` (colours must match the legend), alpha-blended,
    visible from below too.
    """
    return _heat_patch(_metres(width_m, "width_m"), _metres(depth_m, "depth_m"), bytes(png_bytes))


@lru_cache(maxsize=_CACHE_SIZE)
def _heat_patch(width_m: float, depth_m: float, png_bytes: bytes) -> bytes:
    material = PbrMaterial(
        "heat",
        (255, 255, 255, 255),
        roughness=1.0,
        double_sided=True,
        textured=True,
        blend=True,
        unlit=True,
    )
    return encode_glb("heat_patch", [(ground_quad(width_m, depth_m), material)], png=png_bytes)


def zone_volume_glb(polygon_local: Polygon, height_m: float, rgba: Sequence[int]) -> bytes:
    """A remedy zone as a prism ``height_m`` tall over its polygon, holes kept.

    Parameters
    ----------
    polygon_local : shapely Polygon
        Metres east (x) and north (y) of the anchor, which sits on the ground.
    height_m : float
    rgba : (r, g, b, a)
        Alpha below 255 makes the volume translucent (it is then double-sided).

    Raises
    ------
    InvalidGeometry
        If the polygon is empty, invalid or not a Polygon.
    """
    if not isinstance(polygon_local, Polygon):
        raise InvalidParameter("must be a shapely Polygon", "polygon_local")
    return _zone_volume(
        shapely.to_wkb(polygon_local, output_dimension=2),
        _metres(height_m, "height_m"),
        _rgba(rgba),
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _zone_volume(polygon_wkb: bytes, height_m: float, rgba: Rgba8) -> bytes:
    polygon = shapely.from_wkb(polygon_wkb)
    material = _glowing("zone", rgba, roughness=0.9, double_sided=rgba[3] < 255)
    return encode_glb(
        "zone_volume", [(part, material) for part in extruded_polygon(polygon, height_m)]
    )
