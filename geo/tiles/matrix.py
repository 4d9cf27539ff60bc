"""Tile matrix sets (morecantile) and the geometry of one tile.

Only the tile matrix sets in :data:`TILE_MATRIX_SETS` are served; both have x east and
y north in their CRS (``WebMercatorQuad``: EPSG:3857 metres; ``WorldCRS84Quad``: OGC
CRS84 degrees, longitude first). A tile of ``size_px`` pixels covers the extent of the
tile in the matrix set whatever its pixel size: a 512 px tile is the same ground as a
256 px tile of the same ``z/x/y``, at twice the pixel density (as TiTiler's
``tilesize``).
"""

from __future__ import annotations

from functools import cache, lru_cache

import morecantile
import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geo.errors import InvalidParameter
from geo.tiles.errors import NoSuchTile

__all__ = [
    "TILE_MATRIX_SETS",
    "TILE_SIZES_PX",
    "Tile",
    "check_size",
    "check_tile",
    "crs_of",
    "pixel_centres",
    "tile_bounds",
    "tile_matrix_set",
    "tms_crs",
    "transformer",
]

Tile = morecantile.Tile
TILE_MATRIX_SETS = ("WebMercatorQuad", "WorldCRS84Quad")
"""Identifiers of the tile matrix sets served (OGC TileMatrixSet 2.0 names)."""
TILE_SIZES_PX = (256, 512)
"""Pixel sizes a raster tile can have."""

FloatArray = NDArray[np.float64]


@cache
def tile_matrix_set(tms_id: str) -> morecantile.TileMatrixSet:
    """The morecantile tile matrix set ``tms_id`` (one of :data:`TILE_MATRIX_SETS`).

    Raises
    ------
    NoSuchTile
        For any other identifier (``field="tileMatrixSetId"``).
    """
    if tms_id not in TILE_MATRIX_SETS:
        known = ", ".join(TILE_MATRIX_SETS)
        raise NoSuchTile(f"unknown tile matrix set; known: {known}", "tileMatrixSetId")
    return morecantile.tms.get(tms_id)


@cache
def tms_crs(tms_id: str) -> CRS:
    """The pyproj CRS of a tile matrix set."""
    return CRS.from_wkt(tile_matrix_set(tms_id).crs.to_wkt())


def crs_of(tms: morecantile.TileMatrixSet) -> CRS:
    """The pyproj CRS of a tile matrix set object (cached by its identifier)."""
    return tms_crs(str(tms.id))


@lru_cache(maxsize=64)
def transformer(src: CRS, dst: CRS) -> Transformer:
    """A cached ``always_xy`` transformer (x east / longitude first on both sides)."""
    return Transformer.from_crs(src, dst, always_xy=True)


def check_tile(
    tms: morecantile.TileMatrixSet, tile: Tile, minzoom: int = 0, maxzoom: int | None = None
) -> None:
    """Refuse a tile that the matrix set, or the served zoom range, does not have.

    Raises
    ------
    NoSuchTile
        ``field="z"`` when ``z`` is outside ``[minzoom, maxzoom]`` (``maxzoom``
        defaults to the matrix set's), ``"x"``/``"y"`` when the column/row is outside
        the matrix at that zoom.
    """
    top = tms.maxzoom if maxzoom is None else min(maxzoom, tms.maxzoom)
    bottom = max(minzoom, tms.minzoom)
    if not bottom <= tile.z <= top:
        raise NoSuchTile(f"zoom level must be within [{bottom}, {top}]", "z")
    matrix = tms.matrix(tile.z)
    if not 0 <= tile.x < matrix.matrixWidth:
        raise NoSuchTile(f"column must be within [0, {matrix.matrixWidth - 1}] at z={tile.z}", "x")
    if not 0 <= tile.y < matrix.matrixHeight:
        raise NoSuchTile(f"row must be within [0, {matrix.matrixHeight - 1}] at z={tile.z}", "y")


def tile_bounds(tms: morecantile.TileMatrixSet, tile: Tile) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of the tile in the matrix set's CRS (x east, y north)."""
    b = tms.xy_bounds(tile)
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))


def check_size(size_px: int) -> None:
    """Refuse a pixel size not in :data:`TILE_SIZES_PX` (``field="size_px"``)."""
    if size_px not in TILE_SIZES_PX:
        sizes = " or ".join(str(s) for s in TILE_SIZES_PX)
        raise InvalidParameter(f"tile size must be {sizes} pixels", "size_px")


def pixel_centres(
    bounds: tuple[float, float, float, float], size_px: int
) -> tuple[FloatArray, FloatArray]:
    """1-D x (per column, west first) and y (per row, north first) of the pixel centres."""
    minx, miny, maxx, maxy = bounds
    step_x, step_y = (maxx - minx) / size_px, (maxy - miny) / size_px
    index = np.arange(size_px, dtype=np.float64) + 0.5
    return minx + index * step_x, maxy - index * step_y
