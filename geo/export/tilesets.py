"""The tile sets of a tile-package export, rendered through :mod:`geo.tiles`.

Each raster layer is its own tile set of PNG tiles (one colormap per layer); the
vector layers share one tile set of gzip-compressed MVT tiles with one MVT layer
each, as vector MBTiles/PMTiles usually are. Tiles follow WebMercatorQuad (the XYZ
scheme; MBTiles flips rows to TMS when writing). Tiles with nothing in them are not
stored: a reader shows nothing there, which is what they would show.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from pmtiles.tile import zxy_to_tileid

from geo.export.spec import RASTER_LAYERS, VECTOR_LAYERS, BBox, ExportData
from geo.tiles import (
    Tile,
    band_of,
    render_raster_tile,
    render_vector_tile,
    tile_matrix_set,
    tower_features,
    transparent_tile,
    zone_features,
)
from geo.tiles.vector import VectorFeature

__all__ = ["RenderedTile", "TileSet", "render_tile_set", "tile_sets", "tiles_covering"]

TMS_ID = "WebMercatorQuad"
TILE_SIZE_PX = 256
RenderedTile = tuple[int, int, int, bytes]
"""``(z, x, y, data)`` in the XYZ scheme (row 0 at the north)."""

_DESCRIPTIONS = {
    "blight": "Interpolated blight intensity, 0 to 1 (colormap cividis)",
    "uncertainty": "Standard error of the blight intensity, 0 to 0.5 (colormap greypurple)",
    "towers": "Farm towers (points) with their tiers' blight intensity",
    "zones": "Remedy zones with severity band, rank and dose",
}


@dataclass(frozen=True, slots=True)
class TileSet:
    """One tile package's content.

    Attributes
    ----------
    name : str
        ``"blight"``, ``"uncertainty"`` or ``"vector"`` (the file's base name).
    tile_format : {"png", "pbf"}
    layers : tuple of str
        The export layers it holds.
    """

    name: str
    tile_format: Literal["png", "pbf"]
    layers: tuple[str, ...]

    @property
    def description(self) -> str:
        """What the tiles show, for the package metadata."""
        return "; ".join(_DESCRIPTIONS[layer] for layer in self.layers)


def tile_sets(layers: Sequence[str]) -> list[TileSet]:
    """The tile sets holding ``layers``: one per raster layer, one for all vector layers."""
    out = [TileSet(layer, "png", (layer,)) for layer in RASTER_LAYERS if layer in layers]
    vectors = tuple(layer for layer in VECTOR_LAYERS if layer in layers)
    if vectors:
        out.append(TileSet("vector", "pbf", vectors))
    return out


def tiles_covering(area_wgs84: BBox, zooms: tuple[int, int]) -> list[Tile]:
    """WebMercatorQuad tiles over ``area_wgs84`` at each zoom, in PMTiles tile-id order."""
    tms = tile_matrix_set(TMS_ID)
    found = tms.tiles(*area_wgs84, zooms=list(range(zooms[0], zooms[1] + 1)))
    return sorted(found, key=lambda t: zxy_to_tileid(t.z, t.x, t.y))


def vector_features(data: ExportData, layers: Sequence[str]) -> dict[str, list[VectorFeature]]:
    """MVT layer name -> features, for the vector layers requested."""
    out: dict[str, list[VectorFeature]] = {}
    if "towers" in layers:
        out["towers"] = tower_features(data.towers, data.tier_values, data.data_version)
    if "zones" in layers:
        out["zones"] = zone_features(data.zones, data.data_version)
    return out


def render_tile_set(
    tile_set: TileSet,
    data: ExportData,
    tiles: Sequence[Tile],
    tick: Callable[[], None] | None = None,
) -> Iterator[RenderedTile]:
    """Render the tiles of ``tile_set`` that hold something; ``tick()`` after each tile.

    ``tick`` may raise to stop the rendering (cancellation).
    """
    tms = tile_matrix_set(TMS_ID)
    if tile_set.tile_format == "png":
        layer = tile_set.name
        band = band_of(data.grid, layer)
        empty = transparent_tile(TILE_SIZE_PX, "png")
        for tile in tiles:
            png = render_raster_tile(band, layer, tms, tile, TILE_SIZE_PX, "png")
            if tick is not None:
                tick()
            if png != empty:
                yield tile.z, tile.x, tile.y, png
        return
    features = vector_features(data, tile_set.layers)
    for tile in tiles:
        mvt = render_vector_tile(features, tms, tile)
        if tick is not None:
            tick()
        if mvt:
            yield tile.z, tile.x, tile.y, gzip.compress(mvt, mtime=0)


def vector_layer_fields(data: ExportData, layers: Sequence[str]) -> dict[str, dict[str, str]]:
    """MVT layer name -> {attribute: "String" | "Number" | "Boolean"} (TileJSON style)."""
    out: dict[str, dict[str, str]] = {}
    for name, features in vector_features(data, layers).items():
        fields: dict[str, str] = {}
        for feature in features:
            for key, value in feature.properties.items():
                kind = (
                    "Boolean"
                    if isinstance(value, bool)
                    else "String"
                    if isinstance(value, str)
                    else "Number"
                )
                fields.setdefault(key, kind)
        out[name] = fields
    return out
