"""Map tiles: tile matrix sets, raster tiles from a grid, vector tiles, legends.

Pure core (numpy, pyproj, shapely, morecantile, Pillow, mapbox-vector-tile); the
service and the tile-package exports build on these stable functions:

- :func:`~geo.tiles.raster.render_raster_tile` ``(source, layer, tms, tile, size_px, fmt)``
  -> PNG/WebP bytes, and :func:`~geo.tiles.raster.sample_tile` for the raw values;
- :func:`~geo.tiles.vector.render_vector_tile` ``(layers, tms, tile)`` -> MVT bytes, with
  :func:`~geo.tiles.features.tower_features` / :func:`~geo.tiles.features.zone_features`;
- :func:`~geo.tiles.matrix.tile_matrix_set`, :func:`~geo.tiles.matrix.check_tile`;
- :func:`~geo.tiles.legend.legend`, :func:`~geo.tiles.legend.legend_png`.
"""

from geo.tiles.catalog import LAYERS, RASTER_LAYERS, VECTOR_LAYERS, tile_layer
from geo.tiles.errors import NoSuchTile
from geo.tiles.features import tower_features, zone_features
from geo.tiles.legend import legend, legend_png
from geo.tiles.matrix import (
    TILE_MATRIX_SETS,
    TILE_SIZES_PX,
    Tile,
    check_size,
    check_tile,
    tile_bounds,
    tile_matrix_set,
)
from geo.tiles.raster import (
    FORMATS,
    MEDIA_TYPES,
    Band,
    band_of,
    render_raster_tile,
    sample_tile,
    transparent_tile,
)
from geo.tiles.vector import MVT_MEDIA_TYPE, VectorFeature, render_vector_tile

__all__ = [
    "FORMATS",
    "LAYERS",
    "MEDIA_TYPES",
    "MVT_MEDIA_TYPE",
    "RASTER_LAYERS",
    "TILE_MATRIX_SETS",
    "TILE_SIZES_PX",
    "VECTOR_LAYERS",
    "Band",
    "NoSuchTile",
    "Tile",
    "VectorFeature",
    "band_of",
    "check_size",
    "check_tile",
    "legend",
    "legend_png",
    "render_raster_tile",
    "render_vector_tile",
    "sample_tile",
    "tile_bounds",
    "tile_layer",
    "tile_matrix_set",
    "tower_features",
    "transparent_tile",
    "zone_features",
]
