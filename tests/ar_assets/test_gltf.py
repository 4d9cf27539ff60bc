"""GLB assets: Khronos validator clean, and decoded back (pygltflib, trimesh, Pillow)."""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pygltflib
import pytest
import shapely
import trimesh
from numpy.typing import NDArray
from PIL import Image
from shapely.geometry import Point, Polygon

from ar_assets.gltf import builders
from ar_assets.gltf.builders import (
    heat_patch_glb,
    tier_ring_glb,
    tower_marker_glb,
    zone_volume_glb,
)
from ar_assets.gltf.glb import linear_to_srgb8, srgb8_to_linear
from ar_assets.textures import heat_patch_png
from geo.errors import GeoError, InvalidGeometry, InvalidParameter
from tests.ar_assets.conftest import Report, ValidateGlb, issues, make_grid

DONUT = shapely.box(-10.0, -6.0, 10.0, 6.0).difference(shapely.box(-3.0, -2.0, 3.0, 2.0))
L_SHAPE = Polygon([(0, 0), (20, 0), (20, 5), (5, 5), (5, 15), (0, 15)])
DISC = Point(2.0, -1.0).buffer(7.5, quad_segs=16)
GRID = make_grid(649_900.0, 5_773_100.0, 50, 40)
PNG = heat_patch_png(GRID)  # 50 x 40 pixels

CASES: dict[str, Callable[[], bytes]] = {
    "marker": lambda: tower_marker_glb(13.0, 4.2, (10, 20, 30, 255)),
    "marker-point": lambda: tower_marker_glb(2.0, 0.5, (0, 34, 77, 255)),
    "marker-occluder": lambda: tower_marker_glb(13.0, 4.2, (10, 20, 30, 255), L_SHAPE),
    "ring": lambda: tier_ring_glb(8.07, 0.15, (253, 231, 55, 255)),
    "heat": lambda: heat_patch_glb(100.0, 80.0, PNG),
    "zone-donut": lambda: zone_volume_glb(DONUT, 2.0, (120, 120, 120, 140)),
    "zone-L": lambda: zone_volume_glb(L_SHAPE, 2.0, (0, 34, 77, 255)),
    "zone-disc": lambda: zone_volume_glb(DISC, 3.5, (200, 100, 0, 128)),
}


@pytest.fixture(scope="module")
def glbs() -> dict[str, bytes]:
    return {name: build() for name, build in CASES.items()}


@pytest.fixture(scope="module")
def reports(glbs: dict[str, bytes], validate_glb: ValidateGlb) -> dict[str, Report]:
    return dict(zip(glbs, validate_glb(list(glbs.values())), strict=True))


def decode(glb: bytes) -> pygltflib.GLTF2:
    return pygltflib.GLTF2.load_from_bytes(glb)


def accessor_array(doc: pygltflib.GLTF2, index: int) -> NDArray[Any]:
    """The data of an accessor, read straight from the BIN chunk."""
    accessor = doc.accessors[index]
    view = doc.bufferViews[accessor.bufferView]
    dtype = {5126: np.float32, 5123: np.uint16, 5125: np.uint32}[accessor.componentType]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[accessor.type]
    blob = doc.binary_blob()
    data = np.frombuffer(blob, dtype=dtype, count=accessor.count * width, offset=view.byteOffset)
    return data.reshape(accessor.count, width) if width > 1 else data


def positions(doc: pygltflib.GLTF2) -> NDArray[np.float32]:
    return np.vstack(
        [accessor_array(doc, p.attributes.POSITION) for m in doc.meshes for p in m.primitives]
    )


def load_trimesh(glb: bytes) -> trimesh.Trimesh:
    scene = trimesh.load(io.BytesIO(glb), file_type="glb")
    mesh = trimesh.util.concatenate(list(scene.dump()))
    assert isinstance(mesh, trimesh.Trimesh)
    return mesh


# --- validator ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_khronos_validator_finds_no_errors_or_warnings(
    name: str, reports: dict[str, Report]
) -> None:
    report = reports[name]
    assert report["issues"]["numErrors"] == 0, issues(report)
    assert report["issues"]["numWarnings"] == 0, issues(report)
    assert report["info"]["version"] == "2.0"
    assert report["info"]["generator"] == "blightmap ar_assets"


def test_khronos_validator_catches_a_broken_asset(
    glbs: dict[str, bytes], validate_glb: ValidateGlb
) -> None:
    doc = decode(glbs["marker"])
    doc.accessors[doc.meshes[0].primitives[0].attributes.POSITION].max = [0.0, 0.0, 0.0]
    broken = b"".join(doc.save_to_bytes())
    (report,) = validate_glb([broken])
    assert report["issues"]["numErrors"] > 0
    assert "ACCESSOR_MAX_MISMATCH" in {code for code, _, _ in issues(report)}


def test_heat_patch_texture_is_reported_as_an_embedded_png(reports: dict[str, Report]) -> None:
    resources = reports["heat"]["info"]["resources"]
    images = [r for r in resources if r["pointer"] == "/images/0"]
    assert images[0]["mimeType"] == "image/png"
    assert images[0]["storage"] == "buffer-view"
    assert (images[0]["image"]["width"], images[0]["image"]["height"]) == (50, 40)


# --- geometry -------------------------------------------------------------------------


def test_glb_header_and_chunks(glbs: dict[str, bytes]) -> None:
    for glb in glbs.values():
        magic, version, length = struct.unpack_from("<4sII", glb)
        assert (magic, version, length) == (b"glTF", 2, len(glb))
        json_len, json_type = struct.unpack_from("<I4s", glb, 12)
        assert json_type == b"JSON" and json_len % 4 == 0
        bin_len, bin_type = struct.unpack_from("<I4s", glb, 20 + json_len)
        assert bin_type == b"BIN\x00" and bin_len % 4 == 0


@pytest.mark.parametrize(("height_m", "radius_m"), [(13.0, 4.2), (2.0, 0.5), (40.0, 12.0)])
def test_tower_marker_spans_the_tower_height_and_footprint(
    height_m: float, radius_m: float
) -> None:
    doc = decode(tower_marker_glb(height_m, radius_m, (1, 2, 3, 255)))
    pts = positions(doc)
    assert pts[:, 1].min() == pytest.approx(0.0)
    assert pts[:, 1].max() == pytest.approx(height_m)
    assert np.hypot(pts[:, 0], pts[:, 2]).max() == pytest.approx(radius_m, rel=1e-6)
    # The column is slim: everything above the footprint disc is within 0.3 m of the axis.
    high = pts[pts[:, 1] > 0.1]
    assert np.hypot(high[:, 0], high[:, 2]).max() <= 0.3 + 1e-6


@pytest.mark.parametrize(("radius_m", "thickness_m"), [(8.07, 0.15), (1.0, 0.3), (25.0, 0.5)])
def test_tier_ring_radius_and_thickness(radius_m: float, thickness_m: float) -> None:
    glb = tier_ring_glb(radius_m, thickness_m, (1, 2, 3, 255))
    mesh = load_trimesh(glb)
    (min_x, min_y, min_z), (max_x, max_y, max_z) = mesh.bounds
    outer = radius_m + thickness_m / 2
    assert max_x == pytest.approx(outer, rel=1e-6)
    # 64 segments: the other extremes fall on vertices too (multiples of 90 degrees).
    assert (min_x, min_z, max_z) == pytest.approx((-outer, -outer, outer), rel=1e-6)
    assert (min_y, max_y) == pytest.approx((-thickness_m / 2, thickness_m / 2), rel=1e-3)
    # A closed, outward-facing tube: trimesh's volume is the torus's (2 pi^2 R r^2), less
    # the polygonal approximation of 64 x 12 segments.
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    assert mesh.is_watertight
    exact = 2 * math.pi**2 * radius_m * (thickness_m / 2) ** 2
    assert mesh.volume == pytest.approx(exact, rel=0.06)
    assert mesh.volume > 0.9 * exact


@pytest.mark.parametrize("polygon", [DONUT, L_SHAPE, DISC], ids=["donut", "L", "disc"])
@pytest.mark.parametrize("height_m", [2.0, 0.5])
def test_zone_volume_is_the_extruded_polygon(polygon: Polygon, height_m: float) -> None:
    mesh = load_trimesh(zone_volume_glb(polygon, height_m, (1, 2, 3, 200)))
    minx, miny, maxx, maxy = polygon.bounds
    # East -> +X, north -> -Z, up -> +Y.
    np.testing.assert_allclose(
        mesh.bounds, [[minx, 0.0, -maxy], [maxx, height_m, -miny]], atol=1e-5
    )
    # Signed volume equals area * height only if every face points outward (holes too).
    assert mesh.volume == pytest.approx(polygon.area * height_m, rel=1e-6)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    assert mesh.is_watertight
    # The top cap alone covers the polygon: its area is the polygon's.
    top = mesh.area_faces[mesh.face_normals[:, 1] > 0.99].sum()
    assert top == pytest.approx(polygon.area, rel=1e-6)


def test_heat_patch_size_uvs_and_embedded_png(glbs: dict[str, bytes]) -> None:
    doc = decode(glbs["heat"])
    (primitive,) = doc.meshes[0].primitives
    pts = accessor_array(doc, primitive.attributes.POSITION)
    uvs = accessor_array(doc, primitive.attributes.TEXCOORD_0)
    np.testing.assert_allclose(pts.min(axis=0), [-50.0, 0.0, -40.0])
    np.testing.assert_allclose(pts.max(axis=0), [50.0, 0.0, 40.0])
    # UV (0, 0), the image's top-left, is on the north-west corner (-X, -Z); (1, 1) south-east.
    for (x, _, z), (u, v) in zip(pts, uvs, strict=True):
        assert (u, v) == ((x > 0) * 1.0, (z > 0) * 1.0)
    image = doc.images[doc.textures[0].source]
    view = doc.bufferViews[image.bufferView]
    png = doc.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
    assert png == PNG
    with Image.open(io.BytesIO(png)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == (50, 40)
    material = doc.materials[primitive.material]
    assert material.alphaMode == "BLEND"
    assert material.doubleSided is True
    assert doc.extensionsUsed == ["KHR_materials_unlit"]


def test_trimesh_decodes_the_heat_patch_texture(glbs: dict[str, bytes]) -> None:
    scene = trimesh.load(io.BytesIO(glbs["heat"]), file_type="glb")
    (mesh,) = scene.geometry.values()
    image = mesh.visual.material.baseColorTexture
    assert image.size == (50, 40)


# --- materials ------------------------------------------------------------------------


@pytest.mark.parametrize("rgba", [(0, 34, 77, 255), (253, 231, 55, 255), (124, 123, 120, 140)])
def test_base_colour_is_linear_and_round_trips_to_srgb(rgba: tuple[int, int, int, int]) -> None:
    doc = decode(zone_volume_glb(L_SHAPE, 2.0, rgba))
    (material,) = doc.materials
    factor = material.pbrMetallicRoughness.baseColorFactor
    assert tuple(linear_to_srgb8(c) for c in factor[:3]) == rgba[:3]
    assert factor[3] == pytest.approx(rgba[3] / 255, abs=1e-6)
    assert material.alphaMode == ("BLEND" if rgba[3] < 255 else "OPAQUE")
    assert material.pbrMetallicRoughness.metallicFactor == 0.0


def test_srgb_transfer_function() -> None:
    assert srgb8_to_linear(0) == 0.0
    assert srgb8_to_linear(255) == 1.0
    assert srgb8_to_linear(188) == pytest.approx(0.5, abs=0.003)  # sRGB mid-grey
    assert all(linear_to_srgb8(srgb8_to_linear(v)) == v for v in range(256))


# --- determinism and caching ----------------------------------------------------------


def test_builders_are_deterministic_without_their_cache(glbs: dict[str, bytes]) -> None:
    for cached in (builders._tower_marker, builders._tier_ring, builders._heat_patch):
        cached.cache_clear()
    builders._zone_volume.cache_clear()
    again = {name: build() for name, build in CASES.items()}
    assert again == glbs
    assert len(set(again.values())) == len(again)


def test_equal_parameters_hit_the_cache() -> None:
    first = zone_volume_glb(Polygon(L_SHAPE.exterior.coords), 2.0, (1, 2, 3, 255))
    second = zone_volume_glb(Polygon(L_SHAPE.exterior.coords), 2.0, [1, 2, 3, 255])
    assert first is second
    assert zone_volume_glb(L_SHAPE, 2.5, (1, 2, 3, 255)) != first


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: tower_marker_glb(0.0, 1.0, (1, 2, 3, 255)), InvalidParameter),
        (lambda: tower_marker_glb(10.0, math.nan, (1, 2, 3, 255)), InvalidParameter),
        (lambda: tier_ring_glb(1.0, 3.0, (1, 2, 3, 255)), InvalidParameter),
        (lambda: tier_ring_glb(1.0, 0.1, (1, 2, 3, 256)), InvalidParameter),
        (lambda: tier_ring_glb(1.0, 0.1, (1, 2, 3)), InvalidParameter),
        (lambda: heat_patch_glb(10.0, 10.0, b"GIF89a"), InvalidParameter),
        (lambda: zone_volume_glb(Polygon(), 2.0, (1, 2, 3, 255)), InvalidGeometry),
        (
            lambda: zone_volume_glb(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), 2.0, (1, 2, 3, 255)),
            InvalidGeometry,
        ),
        (lambda: zone_volume_glb(L_SHAPE, -1.0, (1, 2, 3, 255)), InvalidParameter),
    ],
)
def test_bad_parameters_are_refused(build: Callable[[], bytes], error: type[GeoError]) -> None:
    with pytest.raises(error):
        build()


# --- issue 13, finding 5: data colours glow; towers carry depth-only occluders ---------


@pytest.mark.parametrize("name", ["marker", "ring", "zone-L", "zone-donut"])
def test_data_coloured_materials_are_unlit_and_emissive(name: str, glbs: dict[str, bytes]) -> None:
    """Rings, markers and zones were lit PBR without emission: light estimation moved
    their colours off the legend. Now unlit, and emitting the base colour."""
    doc = decode(glbs[name])
    assert doc.extensionsUsed == ["KHR_materials_unlit"]
    for material in doc.materials:
        assert "KHR_materials_unlit" in material.extensions
        assert material.emissiveFactor == material.pbrMetallicRoughness.baseColorFactor[:3]
        assert max(material.emissiveFactor) > 0


def test_tower_marker_carries_a_flagged_transparent_occluder(
    glbs: dict[str, bytes], reports: dict[str, Report]
) -> None:
    doc = decode(glbs["marker-occluder"])
    assert reports["marker-occluder"]["issues"]["numErrors"] == 0
    assert [n.name for n in doc.nodes] == ["tower_marker", "tower_marker_occluder"]
    assert doc.scenes[0].nodes == [0, 1]
    occluder = doc.nodes[1]
    assert occluder.extras == {"blightmap": {"occluder": True, "render": "depth_only"}}
    mesh = doc.meshes[occluder.mesh]
    material = doc.materials[mesh.primitives[0].material]
    assert material.alphaMode == "BLEND"
    assert material.pbrMetallicRoughness.baseColorFactor[3] == 0.0
    assert material.extras["blightmap"]["occluder"] is True
    # The footprint extruded to the tower's height: X east, -Z north, Y up.
    bounds = [doc.accessors[p.attributes.POSITION] for p in mesh.primitives]
    lo = np.min([a.min for a in bounds], axis=0)
    hi = np.max([a.max for a in bounds], axis=0)
    np.testing.assert_allclose(lo, [0.0, 0.0, -15.0], atol=1e-5)
    np.testing.assert_allclose(hi, [20.0, 13.0, 0.0], atol=1e-5)
    assert len(decode(glbs["marker"]).nodes) == 1  # no footprint given, no occluder
