"""Binary glTF 2.0 (GLB) encoding of triangle meshes with PBR materials, via pygltflib.

Units are metres and the frame is glTF's: right-handed, +Y up. Our assets are built
in their anchor's local frame with **east -> +X, up -> +Y, north -> -Z** (so south is
+Z), which is both glTF's convention (+Y up) and ARCore's East-Up-South anchor frame;
see :mod:`ar_assets.geopose`.

Colours are given as 8-bit sRGB (as :mod:`geo.colormap` returns them) and written as
glTF requires: ``baseColorFactor`` in *linear* RGB (the sRGB transfer function is
undone), alpha unchanged; textures stay sRGB-encoded PNG.

The output is deterministic: the same meshes and materials give the same bytes (no
timestamps, a fixed generator string, JSON in a fixed key order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib as gl

from geo.errors import InvalidParameter

__all__ = [
    "GENERATOR",
    "OCCLUDER_EXTRAS",
    "MeshPart",
    "PbrMaterial",
    "encode_glb",
    "linear_to_srgb8",
    "srgb8_to_linear",
]

GENERATOR = "blightmap ar_assets"
"""``asset.generator`` of every GLB (no version number, so hashes survive upgrades)."""

Rgba8 = tuple[int, int, int, int]
FloatArray = npt.NDArray[np.float64]

_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_FLOAT = 5126
_UNSIGNED_SHORT = 5123
_UNSIGNED_INT = 5125
_NEAREST, _LINEAR, _CLAMP_TO_EDGE = 9728, 9729, 33071
_UNLIT = "KHR_materials_unlit"


def srgb8_to_linear(value: int) -> float:
    """An 8-bit sRGB channel as linear intensity in [0, 1] (IEC 61966-2-1)."""
    c = value / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_to_srgb8(value: float) -> int:
    """A linear intensity in [0, 1] as the nearest 8-bit sRGB channel (inverse of
    :func:`srgb8_to_linear`)."""
    c = min(max(value, 0.0), 1.0)
    s = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1.0 / 2.4) - 0.055
    return round(s * 255.0)


@dataclass(frozen=True, slots=True)
class PbrMaterial:
    """A metallic-roughness material.

    Attributes
    ----------
    name : str
    rgba : (r, g, b, a) of int
        sRGB colour and alpha, 0-255; alpha below 255 makes the material blend.
    metallic, roughness : float
        PBR factors in [0, 1].
    double_sided : bool
        Render back faces too (flat, open surfaces).
    textured : bool
        Use the GLB's texture as ``baseColorTexture`` (multiplied by ``rgba``).
    blend : bool
        Alpha-blend even when ``rgba`` is opaque (for textures with alpha).
    unlit : bool
        Add ``KHR_materials_unlit`` (optional extension): clients that support it
        show the colours exactly, without shading; others fall back to PBR.
    emissive : bool
        Also emit the base colour (``emissiveFactor`` = the linear ``rgba`` colour), so
        a client without ``KHR_materials_unlit`` still shows the legend's colour, glowing,
        whatever the device's light estimation says.
    """

    name: str
    rgba: Rgba8
    metallic: float = 0.0
    roughness: float = 0.8
    double_sided: bool = False
    textured: bool = False
    blend: bool = False
    unlit: bool = False
    emissive: bool = False

    def __post_init__(self) -> None:
        if len(self.rgba) != 4 or not all(0 <= int(c) <= 255 for c in self.rgba):
            raise InvalidParameter("must be 4 integers within [0, 255]", "rgba")
        object.__setattr__(self, "rgba", tuple(int(c) for c in self.rgba))

    def to_gltf(self, texture: int | None) -> gl.Material:
        """The pygltflib material (``texture`` is the index of the base colour texture)."""
        r, g, b, a = self.rgba
        linear = [round(srgb8_to_linear(c), 6) for c in (r, g, b)]
        factor = [*linear, round(a / 255.0, 6)]
        pbr = gl.PbrMetallicRoughness(
            baseColorFactor=factor,
            metallicFactor=float(self.metallic),
            roughnessFactor=float(self.roughness),
            baseColorTexture=gl.TextureInfo(index=texture) if texture is not None else None,
        )
        return gl.Material(
            name=self.name,
            pbrMetallicRoughness=pbr,
            alphaMode=gl.BLEND if (self.blend or a < 255) else gl.OPAQUE,
            doubleSided=self.double_sided,
            emissiveFactor=linear if self.emissive else None,
            extensions={_UNLIT: {}} if self.unlit else {},
        )


@dataclass(frozen=True, eq=False, slots=True)
class MeshPart:
    """One triangle list: vertices (metres, glTF frame), unit normals, optional UVs.

    Attributes
    ----------
    positions, normals : ndarray, shape (n, 3)
    indices : ndarray of int, shape (3 m,)
        Counter-clockwise triangles seen from the front (glTF's front face).
    texcoords : ndarray, shape (n, 2), optional
        glTF UVs: (0, 0) is the top-left corner of the image.
    """

    positions: FloatArray
    normals: FloatArray
    indices: npt.NDArray[np.int64]
    texcoords: FloatArray | None = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.positions)
        if self.positions.shape != (n, 3) or self.normals.shape != (n, 3) or n == 0:
            raise InvalidParameter("positions and normals must be (n, 3) with n > 0", "mesh")
        if self.indices.ndim != 1 or len(self.indices) % 3 or not len(self.indices):
            raise InvalidParameter("indices must list whole triangles", "mesh")
        if self.indices.min() < 0 or self.indices.max() >= n:
            raise InvalidParameter("indices must refer to vertices", "mesh")
        if self.texcoords is not None and self.texcoords.shape != (n, 2):
            raise InvalidParameter("texcoords must be (n, 2)", "mesh")
        if not np.all(np.isfinite(self.positions)):
            raise InvalidParameter("positions must be finite", "mesh")


class _Blob:
    """The BIN chunk under construction: 4-byte aligned buffer views and accessors."""

    def __init__(self, doc: gl.GLTF2) -> None:
        self.doc = doc
        self.data = bytearray()

    def view(self, payload: bytes, target: int | None) -> int:
        self.data.extend(b"\x00" * (-len(self.data) % 4))
        self.doc.bufferViews.append(
            gl.BufferView(
                buffer=0, byteOffset=len(self.data), byteLength=len(payload), target=target
            )
        )
        self.data.extend(payload)
        return len(self.doc.bufferViews) - 1

    def accessor(self, array: npt.NDArray[np.generic], kind: str, *, bounds: bool = False) -> int:
        component = {"float32": _FLOAT, "uint16": _UNSIGNED_SHORT, "uint32": _UNSIGNED_INT}
        is_index = kind == gl.SCALAR
        view = self.view(array.tobytes(), _ELEMENT_ARRAY_BUFFER if is_index else _ARRAY_BUFFER)
        flat = array.reshape(len(array), -1)
        self.doc.accessors.append(
            gl.Accessor(
                bufferView=view,
                componentType=component[array.dtype.name],
                count=len(array),
                type=kind,
                min=[float(v) for v in flat.min(axis=0)] if bounds else None,
                max=[float(v) for v in flat.max(axis=0)] if bounds else None,
            )
        )
        return len(self.doc.accessors) - 1


def _unit(normals: FloatArray) -> npt.NDArray[np.float32]:
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.asarray(normals / np.where(length > 0, length, 1.0), dtype=np.float32)


OCCLUDER_EXTRAS: dict[str, Any] = {"blightmap": {"occluder": True, "render": "depth_only"}}
"""The ``extras`` of an occluder node (and its mesh and material): glTF cannot say
"write depth, not colour", so clients find occluders by this flag and draw them
depth-only (docs/ar-protocol.md, "Occluders"). Their material is fully transparent,
so a client that ignores the flag draws nothing visible."""

_OCCLUDER_MATERIAL = PbrMaterial("occluder", (0, 0, 0, 0), roughness=1.0, unlit=True)


def encode_glb(
    name: str,
    parts: Sequence[tuple[MeshPart, PbrMaterial]],
    png: bytes | None = None,
    occluder: Sequence[MeshPart] = (),
) -> bytes:
    """A GLB with one node holding one mesh of ``parts`` (one primitive per part).

    With ``occluder`` parts, a second node ``"<name>_occluder"`` holds them, flagged
    with :data:`OCCLUDER_EXTRAS` and a fully transparent material: a depth-only mask.

    Parameters
    ----------
    name : str
        Name of the node and the mesh.
    parts : sequence of (MeshPart, PbrMaterial)
        Equal materials are written once.
    png : bytes, optional
        A PNG embedded in the BIN chunk, the base colour texture of every material
        with ``textured=True`` (sampled nearest, clamped to the edge).

    Raises
    ------
    InvalidParameter
        If there are no parts, or a textured material has no PNG.
    """
    if not parts:
        raise InvalidParameter("a mesh needs at least one part", "parts")
    doc = gl.GLTF2(asset=gl.Asset(generator=GENERATOR, version="2.0"), scene=0)
    blob = _Blob(doc)
    texture = _add_texture(doc, blob, png) if png is not None else None
    materials: dict[PbrMaterial, int] = {}
    primitives = []
    for part, material in parts:
        if material.textured and texture is None:
            raise InvalidParameter("a textured material needs a PNG", "png")
        if material not in materials:
            materials[material] = len(doc.materials)
            doc.materials.append(material.to_gltf(texture if material.textured else None))
        primitives.append(_primitive(blob, part, materials[material], material.textured))
    doc.meshes.append(gl.Mesh(name=name, primitives=primitives))
    doc.nodes.append(gl.Node(name=name, mesh=0))
    if occluder:
        materials[_OCCLUDER_MATERIAL] = len(doc.materials)
        mask = _OCCLUDER_MATERIAL.to_gltf(None)
        mask.extras = OCCLUDER_EXTRAS
        doc.materials.append(mask)
        doc.meshes.append(
            gl.Mesh(
                name=f"{name}_occluder",
                primitives=[_primitive(blob, p, len(doc.materials) - 1, False) for p in occluder],
                extras=OCCLUDER_EXTRAS,
            )
        )
        doc.nodes.append(gl.Node(name=f"{name}_occluder", mesh=1, extras=OCCLUDER_EXTRAS))
    if any(m.unlit for m in materials):
        doc.extensionsUsed = [_UNLIT]
    doc.scenes.append(gl.Scene(nodes=list(range(len(doc.nodes)))))
    blob.data.extend(b"\x00" * (-len(blob.data) % 4))
    doc.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    doc.set_binary_blob(bytes(blob.data))
    return b"".join(doc.save_to_bytes())


def _primitive(blob: _Blob, part: MeshPart, material: int, textured: bool) -> gl.Primitive:
    n = len(part.positions)
    index_type = np.uint16 if n <= 0xFFFF else np.uint32
    indices = blob.accessor(np.asarray(part.indices, dtype=index_type), gl.SCALAR)
    attributes = gl.Attributes(
        POSITION=blob.accessor(np.asarray(part.positions, np.float32), gl.VEC3, bounds=True),
        NORMAL=blob.accessor(_unit(part.normals), gl.VEC3),
    )
    if textured and part.texcoords is not None:
        attributes.TEXCOORD_0 = blob.accessor(np.asarray(part.texcoords, np.float32), gl.VEC2)
    return gl.Primitive(
        attributes=attributes, indices=indices, material=material, mode=gl.TRIANGLES
    )


def _add_texture(doc: gl.GLTF2, blob: _Blob, png: bytes) -> int:
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InvalidParameter("must be a PNG image", "png")
    doc.images.append(gl.Image(bufferView=blob.view(png, None), mimeType="image/png"))
    doc.samplers.append(
        gl.Sampler(
            magFilter=_NEAREST, minFilter=_LINEAR, wrapS=_CLAMP_TO_EDGE, wrapT=_CLAMP_TO_EDGE
        )
    )
    doc.textures.append(gl.Texture(sampler=0, source=0))
    return 0
