"""Mapbox Vector Tiles (MVT 2.1) of features, with ``mapbox-vector-tile``.

Geometries come in WGS84 lon/lat; each is projected to the tile matrix set's CRS and
on to tile coordinates (0 to ``extent``, 4096 by default, y down as the specification
wants), clipped to the tile grown by ``buffer_px`` (so that lines and polygon edges
continue across tile borders without seams), snapped to the integer grid with GEOS
(``set_precision``, which keeps polygons valid and drops those that collapse) and
encoded; the encoder gives polygons the winding order MVT requires. Features that
miss the buffered tile are left out, and a tile with no feature at all is an empty
(valid, zero-layer) tile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import mapbox_vector_tile
import morecantile
import numpy as np
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidParameter
from geo.tiles.matrix import Tile, tile_bounds, tms_crs, transformer

__all__ = ["MVT_EXTENT", "MVT_MEDIA_TYPE", "Property", "VectorFeature", "render_vector_tile"]

MVT_EXTENT = 4096
"""Integer tile coordinates along each side (the MVT default)."""
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
_WGS84 = CRS.from_epsg(4326)
Property = str | int | float | bool


@dataclass(frozen=True, slots=True)
class VectorFeature:
    """One feature to encode.

    Attributes
    ----------
    geometry_wgs84 : shapely geometry
        Lon/lat (EPSG:4326, longitude first).
    properties : mapping of str to str, int, float or bool
        MVT attribute values (no ``None``, lists or nested objects: leave a missing
        value out).
    """

    geometry_wgs84: BaseGeometry
    properties: Mapping[str, Property] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.properties.items():
            if not isinstance(value, str | int | float | bool):
                raise InvalidParameter("MVT values are strings, numbers or booleans", key)


@cache
def _from_wgs84(tms_id: str) -> Transformer:
    return transformer(_WGS84, tms_crs(tms_id))


@dataclass(frozen=True, slots=True)
class _TileFrame:
    """Lon/lat -> tile coordinates (0..extent, y down) of one tile."""

    forward: Transformer
    bounds: tuple[float, float, float, float]
    extent: int

    def project(self, geometry: BaseGeometry) -> BaseGeometry:
        minx, miny, maxx, maxy = self.bounds

        def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            x, y = self.forward.transform(coords[:, 0], coords[:, 1])
            tx = (np.asarray(x) - minx) / (maxx - minx) * self.extent
            ty = (maxy - np.asarray(y)) / (maxy - miny) * self.extent
            return np.column_stack([tx, ty])

        return shapely.transform(geometry, apply)


def _clipped(
    features: Sequence[VectorFeature], frame: _TileFrame, clip_box: BaseGeometry
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for feature in features:
        projected = frame.project(feature.geometry_wgs84)
        if not projected.intersects(clip_box):
            continue
        # Snapping to the integer grid keeps polygons valid (GEOS rebuilds them).
        clipped = shapely.set_precision(projected.intersection(clip_box), 1.0)
        if clipped.is_empty:
            continue
        out.append({"geometry": clipped, "properties": dict(feature.properties)})
    return out


def render_vector_tile(
    layers: Mapping[str, Sequence[VectorFeature]],
    tms: morecantile.TileMatrixSet,
    tile: Tile,
    extent: int = MVT_EXTENT,
    buffer_px: int = 64,
) -> bytes:
    """One MVT tile holding the features of each layer that fall in the tile.

    Parameters
    ----------
    layers : mapping of layer name to features
        Layers in order; a layer without a feature in the tile is left out.
    tms, tile :
        Which tile (:func:`geo.tiles.matrix.tile_matrix_set`; check the tile with
        :func:`geo.tiles.matrix.check_tile` first).
    extent : int
        Tile coordinates per side (4096).
    buffer_px : int
        Margin kept around the tile, in tile coordinates (64 of 4096 by default).

    Returns
    -------
    bytes
        The protobuf tile (uncompressed; ``application/vnd.mapbox-vector-tile``).
    """
    if extent < 256 or buffer_px < 0:
        raise InvalidParameter("extent must be at least 256 and buffer non-negative", "extent")
    frame = _TileFrame(_from_wgs84(str(tms.id)), tile_bounds(tms, tile), extent)
    clip_box = box(-buffer_px, -buffer_px, extent + buffer_px, extent + buffer_px)
    encoded = []
    for name, features in layers.items():
        kept = _clipped(features, frame, clip_box)
        if kept:
            encoded.append({"name": name, "features": kept})
    options = {
        "y_coord_down": True,  # already in tile coordinates, y down
        "extents": extent,
        "on_invalid_geometry": on_invalid_geometry_make_valid,
    }
    data: bytes = mapbox_vector_tile.encode(encoded, default_options=options)
    return data
