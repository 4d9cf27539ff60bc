"""Triangle meshes of simple solids in glTF's frame (metres, +Y up, east +X, north -Z).

Every closed solid is oriented outward (counter-clockwise seen from outside) with
flat normals on flat faces and smooth normals on curved ones; seams repeat vertices.
Polygon caps are triangulated by GEOS (``shapely.constrained_delaunay_triangles``),
never by hand.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon

from ar_assets.gltf.glb import MeshPart
from geo.errors import InvalidGeometry, InvalidParameter

__all__ = ["cylinder", "extruded_polygon", "ground_quad", "torus"]

FloatArray = npt.NDArray[np.float64]


def _positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InvalidParameter("must be a positive, finite number of metres", name)


def _disc(radius_m: float, y_m: float, segments: int, up: bool) -> MeshPart:
    """A horizontal disc (fan around its centre), facing up or down."""
    angles = 2.0 * math.pi * np.arange(segments) / segments
    rim = np.column_stack(
        [radius_m * np.cos(angles), np.full(segments, y_m), -radius_m * np.sin(angles)]
    )
    positions = np.vstack([[0.0, y_m, 0.0], rim])
    normals = np.tile([0.0, 1.0 if up else -1.0, 0.0], (segments + 1, 1))
    k = np.arange(segments)
    a, b = 1 + k, 1 + (k + 1) % segments
    # Rim angles run counter-clockwise seen from above (east towards north).
    tris = np.column_stack(
        [np.zeros(segments, int), a, b] if up else [np.zeros(segments, int), b, a]
    )
    return MeshPart(positions, normals, tris.ravel())


def cylinder(
    radius_m: float, height_m: float, segments: int = 24, base_m: float = 0.0
) -> list[MeshPart]:
    """A closed vertical cylinder from ``y = base_m`` to ``base_m + height_m``.

    Returns the side (smooth normals) and the two caps (flat normals).
    """
    _positive(radius_m, "radius_m")
    _positive(height_m, "height_m")
    top = base_m + height_m
    angles = 2.0 * math.pi * np.arange(segments + 1) / segments  # seam repeated
    ring = np.column_stack([np.cos(angles), np.zeros(segments + 1), -np.sin(angles)])
    positions = np.vstack([ring * radius_m + [0.0, base_m, 0.0], ring * radius_m + [0.0, top, 0.0]])
    normals = np.vstack([ring, ring])
    k = np.arange(segments)
    lower, upper = k, k + segments + 1
    tris = np.column_stack([lower, lower + 1, upper + 1, lower, upper + 1, upper]).reshape(-1, 3)
    side = MeshPart(positions, normals, tris.ravel())
    return [
        side,
        _disc(radius_m, top, segments, up=True),
        _disc(radius_m, base_m, segments, up=False),
    ]


def torus(radius_m: float, tube_radius_m: float, segments: int = 64, sides: int = 12) -> MeshPart:
    """A horizontal ring (torus) around the +Y axis, centred on the origin.

    ``radius_m`` is the distance from the centre to the middle of the tube, so the
    ring spans ``radius_m + tube_radius_m`` horizontally and ``tube_radius_m``
    above and below ``y = 0``.
    """
    _positive(radius_m, "radius_m")
    _positive(tube_radius_m, "tube_radius_m")
    if tube_radius_m >= radius_m:
        raise InvalidParameter("the tube must be thinner than the ring's radius", "tube_radius_m")
    u = 2.0 * math.pi * np.arange(segments + 1) / segments  # around the ring
    v = 2.0 * math.pi * np.arange(sides + 1) / sides  # around the tube
    uu, vv = np.meshgrid(u, v, indexing="ij")
    radial = np.stack([np.cos(uu), np.zeros_like(uu), -np.sin(uu)], axis=-1)
    normals = radial * np.cos(vv)[..., None] + np.array([0.0, 1.0, 0.0]) * np.sin(vv)[..., None]
    positions = radial * radius_m + normals * tube_radius_m
    stride = sides + 1
    i, j = np.meshgrid(np.arange(segments), np.arange(sides), indexing="ij")
    a = (i * stride + j).ravel()
    b, c, d = a + stride, a + stride + 1, a + 1
    tris = np.column_stack([a, b, c, a, c, d]).reshape(-1, 3)
    return MeshPart(positions.reshape(-1, 3), normals.reshape(-1, 3), tris.ravel())


def ground_quad(width_m: float, depth_m: float) -> MeshPart:
    """A horizontal rectangle at ``y = 0`` centred on the origin, facing up, with UVs.

    ``width_m`` runs west to east (X), ``depth_m`` north to south (Z). UV (0, 0) is
    the north-west corner: the top-left pixel of an image whose rows run north to
    south and columns west to east (as a raster grid), so the image lies the right
    way round, seen from above with north ahead.
    """
    _positive(width_m, "width_m")
    _positive(depth_m, "depth_m")
    w, d = width_m / 2.0, depth_m / 2.0
    positions = np.array([[-w, 0.0, -d], [w, 0.0, -d], [w, 0.0, d], [-w, 0.0, d]])  # NW NE SE SW
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    normals = np.tile([0.0, 1.0, 0.0], (4, 1))
    # NW, SW, SE / NW, SE, NE: counter-clockwise seen from above.
    return MeshPart(positions, normals, np.array([0, 3, 2, 0, 2, 1]), uvs)


def extruded_polygon(polygon_en: Polygon, height_m: float) -> list[MeshPart]:
    """A prism from ``y = 0`` to ``height_m`` over a polygon given in metres east, north.

    Holes are kept. Returns the top cap, the bottom cap and the walls.

    Raises
    ------
    InvalidGeometry
        If the polygon is empty, invalid or not a Polygon.
    """
    _positive(height_m, "height_m")
    if not isinstance(polygon_en, Polygon) or polygon_en.is_empty or not polygon_en.is_valid:
        raise InvalidGeometry("must be a valid, non-empty Polygon", "polygon")
    polygon_en = shapely.orient_polygons(polygon_en)  # exterior CCW, holes CW
    return [*_caps(polygon_en, height_m), _walls(polygon_en, height_m)]


def _caps(polygon_en: Polygon, height_m: float) -> list[MeshPart]:
    triangles = shapely.get_parts(shapely.constrained_delaunay_triangles(polygon_en))
    corners = np.array([np.asarray(t.exterior.coords)[:3] for t in triangles])  # (m, 3, 2)
    e, n = corners[..., 0], corners[..., 1]
    ccw = (e[:, 1] - e[:, 0]) * (n[:, 2] - n[:, 0]) - (e[:, 2] - e[:, 0]) * (n[:, 1] - n[:, 0])
    corners = np.where((ccw < 0)[:, None, None], corners[:, ::-1], corners)  # all CCW (EN)
    flat = corners.reshape(-1, 2)
    count = len(flat)
    order = np.arange(count).reshape(-1, 3)
    caps = []
    for y, up in ((height_m, True), (0.0, False)):
        positions = np.column_stack([flat[:, 0], np.full(count, y), -flat[:, 1]])
        normals = np.tile([0.0, 1.0 if up else -1.0, 0.0], (count, 1))
        caps.append(MeshPart(positions, normals, (order if up else order[:, ::-1]).ravel()))
    return caps


def _walls(polygon_en: Polygon, height_m: float) -> MeshPart:
    rings = [polygon_en.exterior, *polygon_en.interiors]
    edges = np.vstack(
        [np.column_stack([c[:-1], c[1:]]) for c in (np.asarray(r.coords)[:, :2] for r in rings)]
    )  # (k, 4): e0, n0, e1, n1; exterior CCW and holes CW keep the solid on the left
    edges = edges[np.hypot(edges[:, 2] - edges[:, 0], edges[:, 3] - edges[:, 1]) > 0]
    e0, n0, e1, n1 = edges.T
    k = len(edges)
    outward = np.column_stack([n1 - n0, np.zeros(k), e1 - e0])  # (dn, 0, de) in X, Y, Z
    bottom0 = np.column_stack([e0, np.zeros(k), -n0])
    bottom1 = np.column_stack([e1, np.zeros(k), -n1])
    lift = np.array([0.0, height_m, 0.0])
    top0, top1 = bottom0 + lift, bottom1 + lift
    positions = np.stack([bottom0, bottom1, top1, top0], axis=1).reshape(-1, 3)
    normals = np.repeat(outward, 4, axis=0)
    base = 4 * np.arange(k)[:, None]
    tris = (base + np.array([0, 1, 2, 0, 2, 3])).ravel()
    return MeshPart(positions, normals, tris)
