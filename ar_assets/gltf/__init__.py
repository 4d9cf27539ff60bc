"""glTF 2.0 binary assets of the overlays: meshes, materials and the GLB encoder.

Assets are in metres in the anchor's local frame with glTF's +Y up: east -> +X,
up -> +Y, north -> -Z.
"""

from ar_assets.gltf.builders import (
    heat_patch_glb,
    tier_ring_glb,
    tower_marker_glb,
    zone_volume_glb,
)
from ar_assets.gltf.glb import MeshPart, PbrMaterial, encode_glb

__all__ = [
    "MeshPart",
    "PbrMaterial",
    "encode_glb",
    "heat_patch_glb",
    "tier_ring_glb",
    "tower_marker_glb",
    "zone_volume_glb",
]
