"""Mapbox Vector Tiles (MVT 2.1) of features, with ``mapbox-vector-tile``.

Geometries come in WGS84 lon/lat; each is projected to the tile matrix set's CRS,
clipped to the tile grown by ``buffer_px`` (so that lines and polygon edges continue
across tile borders without seams), quantised to the ``extent`` integer grid of the
tile (4096 by default, y down as the specification wants) and encoded; polygons get the
winding order MVT requires and a quantisation that makes one invalid is repaired
(``make_valid``). Features that miss the buffered tile are left out, and a tile with no
feature at all is an empty (valid, zero-layer) tile.
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


def _project(geometry: BaseGeometry, forward: Transformer) -> BaseGeometry:
    """The geometry through ``forward`` (lon/lat to x east, y north)."""

    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, apply)


def _clipped(
    features: Sequence[VectorFeature], forward: Transformer, clip_box: BaseGeometry
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for feature in features:
        projected = _project(feature.geometry_wgs84, forward)
        if not projected.intersects(clip_box):
            continue
        clipped = projected.intersection(clip_box)
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
    minx, miny, maxx, maxy = tile_bounds(tms, tile)
    margin_x = (maxx - minx) * buffer_px / extent
    margin_y = (maxy - miny) * buffer_px / extent
    clip_box = box(minx - margin_x, miny - margin_y, maxx + margin_x, maxy + margin_y)
    forward = _from_wgs84(str(tms.id))
    encoded = []
    for name, features in layers.items():
        kept = _clipped(features, forward, clip_box)
        if kept:
            encoded.append({"name": name, "features": kept})
    options = {
        "quantize_bounds": (minx, miny, maxx, maxy),
        "extents": extent,
        "on_invalid_geometry": on_invalid_geometry_make_valid,
    }
    data: bytes = mapbox_vector_tile.encode(encoded, default_options=options)
    return data
