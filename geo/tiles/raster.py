"""Raster tiles rendered from an in-memory grid: sample, colour, encode.

For each pixel centre of the tile (in the tile matrix set's CRS) the grid's value is
sampled in the grid's own CRS, coloured through the layer's colormap
(:func:`geo.colormap.colormap`, the same tables as the AR overlays and the legends)
and encoded as PNG or lossless WebP with Pillow. Cells without an estimate and
everything outside the grid are transparent; a tile that misses the grid entirely is
a transparent tile, never an error.

Coordinates. Only the part of the tile that can hold the grid is computed (the grid's
outline is projected to the tile CRS first). Pixel centres are transformed with pyproj
exactly on a lattice of every :data:`LATTICE_STEP_PX`-th pixel and bilinearly in
between, as GDAL's approximate transformer does; the window never exceeds the grid's
extent (a few kilometres), over which the Web-Mercator-to-UTM map is so close to
affine that the error stays far below a millimetre. The lattice is turned into
fractional cell indices in float64 and only the offsets between lattice nodes are
interpolated in float32 (1e-5 of a cell at worst); ``tests/geo/tiles`` checks the
whole against the exact transform (below a millimetre).

Colour. Each value's colormap entry is computed with the arithmetic of
:meth:`geo.colormap.Colormap.rgba`; PNG tiles are palette images whose palette is the
colormap (see :func:`encode_indexed`), so a decoded pixel is exactly the colormap's
colour of the sampled value.

Sampling. ``"bilinear"`` (the default) interpolates between the four surrounding cell
centres; where one of them is missing (the outer half cell of the grid, cells next to
a NaN) it takes the nearest cell, so the coloured area is exactly the grid's cells
that hold a value. ``"nearest"`` takes the cell holding the pixel centre.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import morecantile
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pyproj import Transformer

from geo.colormap import LUT_SIZE, Colormap, colormap
from geo.errors import InvalidParameter
from geo.grid import Grid, GridSpec
from geo.tiles.catalog import RASTER_LAYERS, raster_layer
from geo.tiles.errors import NoSuchTile
from geo.tiles.matrix import Tile, check_size, crs_of, pixel_centres, tile_bounds, transformer

__all__ = [
    "FORMATS",
    "LATTICE_STEP_PX",
    "MEDIA_TYPES",
    "PNG_COMPRESS_LEVEL",
    "Band",
    "ImageFormat",
    "Resampling",
    "band_of",
    "check_format",
    "encode_indexed",
    "encode_rgba",
    "lut_indices",
    "render_raster_tile",
    "sample_cells",
    "sample_tile",
    "transparent_tile",
]

FloatArray = NDArray[np.float64]
Uint8Array = NDArray[np.uint8]
BoolArray = NDArray[np.bool_]
ImageFormat = Literal["png", "webp"]
Resampling = Literal["bilinear", "nearest"]
FORMATS: tuple[ImageFormat, ...] = ("png", "webp")
"""Image formats of raster tiles."""
MEDIA_TYPES = {"png": "image/png", "webp": "image/webp"}
LATTICE_STEP_PX = 16
"""Pixels between exactly transformed pixel centres (bilinear in between)."""
PNG_COMPRESS_LEVEL = 1
"""zlib level of PNG tiles: the fastest. Palette PNGs of a smooth field stay small at
this level (a few kilobytes), and HTTP caches keep tiles by their ETag."""
_OUTLINE_POINTS = 33


@dataclass(frozen=True, eq=False)
class Band:
    """One band of values on a grid, ready to sample many tiles from.

    Build it once per data version (:func:`band_of`) and render every tile from it:
    the NaN-padded copy that tiles sample and the grid's outline in each tile CRS are
    computed once.

    Attributes
    ----------
    spec : GridSpec
        Where the cells are (a projected CRS in metres).
    values : ndarray of float64, shape ``spec.shape``
        The values (NaN: no estimate); read-only.
    """

    spec: GridSpec
    values: FloatArray = field(repr=False)
    _padded: FloatArray = field(init=False, repr=False)
    _outlines: dict[str, tuple[float, float, float, float]] = field(
        init=False, repr=False, default_factory=dict
    )
    _to_grid: dict[str, Transformer] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64, copy=True)
        if values.shape != self.spec.shape:
            raise InvalidParameter("values must have the grid's shape", "values")
        values.setflags(write=False)
        padded = np.pad(values, 1, constant_values=np.nan)
        padded.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_padded", padded)

    def to_grid(self, tms: morecantile.TileMatrixSet) -> Transformer:
        """The (cached) transformer from the tile matrix set's CRS to the grid's."""
        key = str(tms.id)
        found = self._to_grid.get(key)
        if found is None:
            found = self._to_grid[key] = transformer(crs_of(tms), self.spec.crs)
        return found

    def outline_in(self, tms: morecantile.TileMatrixSet) -> tuple[float, float, float, float]:
        """Bounds of the grid in the tile matrix set's CRS (densified outline)."""
        cached = self._outlines.get(str(tms.id))
        if cached is None:
            bounds = transformer(self.spec.crs, crs_of(tms)).transform_bounds(
                *self.spec.bounds_m, densify_pts=_OUTLINE_POINTS
            )
            cached = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
            self._outlines[str(tms.id)] = cached
        return cached


def band_of(source: Grid | Band, layer: str) -> Band:
    """The band a raster layer shows.

    ``blight``: the grid's values (intensity); ``uncertainty``: its standard error;
    ``forecast``: the values of a probability grid (give it a :class:`Band`, or a
    :class:`Grid` whose values are the probabilities). A :class:`Band` is returned
    as it is for any layer.

    Raises
    ------
    NoSuchTile
        For a layer that is not a raster layer (``field="layer"``).
    """
    raster_layer(layer)
    if isinstance(source, Band):
        return source
    if RASTER_LAYERS[layer].band == "std_error":
        return Band(source.spec, source.std_error)
    return Band(source.spec, source.values)


def _window(
    band: Band,
    tms: morecantile.TileMatrixSet,
    bounds: tuple[float, float, float, float],
    size_px: int,
) -> tuple[int, int, int, int] | None:
    """Pixel columns ``[c0, c1)`` and rows ``[r0, r1)`` of the tile that can hold the grid."""
    gx0, gy0, gx1, gy1 = band.outline_in(tms)
    minx, miny, maxx, maxy = bounds
    px_x, px_y = (maxx - minx) / size_px, (maxy - miny) / size_px
    c0 = max(0, math.floor((gx0 - minx) / px_x) - 1)
    c1 = min(size_px, math.ceil((gx1 - minx) / px_x) + 1)
    r0 = max(0, math.floor((maxy - gy1) / px_y) - 1)
    r1 = min(size_px, math.ceil((maxy - gy0) / px_y) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    return c0, c1, r0, r1


def _lattice(n: int) -> tuple[NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """Exactly transformed positions among ``n`` pixels, and for each pixel the lattice
    interval it lies in and its fraction along it."""
    nodes = np.unique(np.append(np.arange(0, n, LATTICE_STEP_PX), n - 1))
    pos = np.arange(n)
    if len(nodes) == 1:
        return nodes, np.zeros(n, dtype=np.intp), np.zeros(n)
    k = np.clip(np.searchsorted(nodes, pos, side="right") - 1, 0, len(nodes) - 2)
    return nodes, k, (pos - nodes[k]) / (nodes[k + 1] - nodes[k])


def _interpolate(
    lattice: FloatArray,
    rows: tuple[NDArray[np.intp], FloatArray],
    cols: tuple[NDArray[np.intp], FloatArray],
) -> NDArray[np.float32]:
    """Bilinear interpolation of lattice values to every pixel (separable: columns, rows)."""
    kc, fc = cols
    kr, fr = rows
    lat = lattice.astype(np.float32)
    if lat.shape[1] > 1:
        wc = fc.astype(np.float32)
        lat = lat[:, kc] + (lat[:, kc + 1] - lat[:, kc]) * wc
    else:
        lat = np.repeat(lat, len(kc), axis=1)
    if lat.shape[0] > 1:
        wr = fr.astype(np.float32)[:, None]
        return lat[kr] + (lat[kr + 1] - lat[kr]) * wr
    return np.repeat(lat, len(kr), axis=0)


def _cell_indices(
    band: Band, tms: morecantile.TileMatrixSet, xs: FloatArray, ys: FloatArray
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Fractional column and row (0 = first cell centre) of every pixel centre.

    ``xs`` (per column) and ``ys`` (per row) are pixel centres in the tile CRS. The
    lattice is transformed and turned into cell indices in float64; only the small
    in-between offsets are interpolated in float32 (1e-5 of a cell at worst).
    """
    col_nodes, kc, fc = _lattice(len(xs))
    row_nodes, kr, fr = _lattice(len(ys))
    lx, ly = np.meshgrid(xs[col_nodes], ys[row_nodes])
    gx, gy = band.to_grid(tms).transform(lx, ly)
    spec = band.spec
    cols = (np.asarray(gx) - spec.west_m) / spec.resolution_m - 0.5
    rows = (spec.north_m - np.asarray(gy)) / spec.resolution_m - 0.5
    where_rows, where_cols = (kr, fr), (kc, fc)
    return _interpolate(cols, where_rows, where_cols), _interpolate(rows, where_rows, where_cols)


def _nearest(band: Band, fc: NDArray[np.float32], fr: NDArray[np.float32]) -> FloatArray:
    """Value of the cell holding each point (fractional cell-centre indices); NaN outside."""
    spec = band.spec
    inside = (fc >= -0.5) & (fc < spec.width - 0.5) & (fr >= -0.5) & (fr < spec.height - 0.5)
    col = np.clip(np.floor(fc + 0.5).astype(np.intp), 0, spec.width - 1) + 1
    row = np.clip(np.floor(fr + 0.5).astype(np.intp), 0, spec.height - 1) + 1
    return np.where(inside, band._padded[row, col], np.nan)


def _bilinear(band: Band, fc: NDArray[np.float32], fr: NDArray[np.float32]) -> FloatArray:
    """Bilinear values between the four surrounding cell centres; nearest cell where one
    of them is missing; NaN outside the grid (the padded NaN border sees to that)."""
    spec = band.spec
    c0 = np.clip(np.floor(fc), -1, spec.width - 1)
    r0 = np.clip(np.floor(fr), -1, spec.height - 1)
    tx = np.clip(fc - c0, 0.0, 1.0)
    ty = np.clip(fr - r0, 0.0, 1.0)
    stride = spec.width + 2
    index = (r0.astype(np.intp) + 1) * stride + (c0.astype(np.intp) + 1)
    flat = band._padded.ravel()
    p00, p01 = flat.take(index), flat.take(index + 1)
    p10, p11 = flat.take(index + stride), flat.take(index + stride + 1)
    top = p00 + tx * (p01 - p00)
    value: FloatArray = top + ty * (p10 + tx * (p11 - p10) - top)
    missing = np.isnan(value)
    if missing.any():
        value[missing] = _nearest(band, fc[missing], fr[missing])
    return value


def sample_cells(
    band: Band,
    cols: NDArray[np.float32],
    rows: NDArray[np.float32],
    resampling: Resampling = "bilinear",
) -> FloatArray:
    """The band's values at fractional cell indices (0 = the first cell's centre), as
    tiles sample them: ``"bilinear"`` between cell centres, ``"nearest"`` cell; NaN
    outside the grid. For pictures in the grid's own CRS (the print sheet)."""
    return (_nearest if resampling == "nearest" else _bilinear)(band, cols, rows)


def sample_tile(
    source: Grid | Band,
    layer: str,
    tms: morecantile.TileMatrixSet,
    tile: Tile,
    size_px: int = 256,
    resampling: Resampling = "bilinear",
) -> FloatArray:
    """The layer's values at the tile's pixel centres: ``(size_px, size_px)``,
    north row first; NaN where the grid has no value or does not reach.

    Raises
    ------
    NoSuchTile
        For a layer that is not a raster layer.
    InvalidParameter
        For a size not in :data:`geo.tiles.matrix.TILE_SIZES_PX` or an unknown resampling.
    """
    check_size(size_px)
    if resampling not in ("bilinear", "nearest"):
        raise InvalidParameter("resampling must be 'bilinear' or 'nearest'", "resampling")
    band = band_of(source, layer)
    out = np.full((size_px, size_px), np.nan)
    bounds = tile_bounds(tms, tile)
    window = _window(band, tms, bounds, size_px)
    if window is None:
        return out
    c0, c1, r0, r1 = window
    xs, ys = pixel_centres(bounds, size_px)
    fc, fr = _cell_indices(band, tms, xs[c0:c1], ys[r0:r1])
    sample = _nearest if resampling == "nearest" else _bilinear
    out[r0:r1, c0:c1] = sample(band, fc, fr)
    return out


def check_format(fmt: str) -> None:
    """Refuse an image format not in :data:`FORMATS` (``NoSuchTile``, ``field="format"``)."""
    if fmt not in FORMATS:
        raise NoSuchTile("raster tiles are png or webp", "format")


def encode_rgba(rgba: NDArray[np.uint8], fmt: ImageFormat) -> bytes:
    """PNG (zlib :data:`PNG_COMPRESS_LEVEL`) or lossless WebP of an ``(h, w, 4)`` uint8 RGBA array.

    Raises
    ------
    NoSuchTile
        For another format (``field="format"``).
    """
    check_format(fmt)
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        image.save(buffer, "WEBP", lossless=True, quality=50, method=2, exact=True)
    return buffer.getvalue()


def lut_indices(values: NDArray[np.floating], cmap: Colormap) -> tuple[Uint8Array, BoolArray]:
    """The colormap entry of each value and where values are missing.

    The same arithmetic as :meth:`geo.colormap.Colormap.rgba` (float64, clipped, rounded
    half to even), so ``cmap.lut[index]`` is exactly ``cmap.rgba(values)`` where a value
    is present.
    """
    v = np.asarray(values, dtype=np.float64)
    missing = np.isnan(v)
    scaled = (v - cmap.vmin) / (cmap.vmax - cmap.vmin) * (LUT_SIZE - 1)
    index = np.clip(np.rint(np.where(missing, 0.0, scaled)), 0, LUT_SIZE - 1)
    return index.astype(np.uint8), missing


def encode_indexed(
    index: Uint8Array, missing: BoolArray, cmap: Colormap, fmt: ImageFormat
) -> bytes:
    """A tile of colormap entries (transparent where ``missing``) as PNG or WebP.

    PNG is written with the colormap as its palette (8 bits a pixel, a quarter of the
    RGBA bytes to compress): a colormap entry that the tile does not use becomes the
    transparent one (``tRNS``). A tile that uses all 256 entries and has missing pixels
    (or any WebP) is written as RGBA. Decoded, every pixel is ``cmap.lut[index]`` or
    transparent black, whichever way it was written.
    """
    check_format(fmt)
    lut = cmap.lut
    palette, alpha = lut[:, :3].copy(), lut[:, 3].copy()
    index = index.copy()
    if missing.any():
        unused = np.flatnonzero(np.bincount(index[~missing], minlength=LUT_SIZE) == 0)
        if fmt != "png" or unused.size == 0:
            rgba = lut[index]
            rgba[missing] = 0
            return encode_rgba(rgba, fmt)
        index[missing] = unused[0]
        palette[unused[0]], alpha[unused[0]] = 0, 0  # transparent black
    if fmt != "png":
        return encode_rgba(lut[index], fmt)
    image = Image.fromarray(np.ascontiguousarray(index), "P")
    image.putpalette(palette.tobytes(), rawmode="RGB")
    buffer = io.BytesIO()
    options: dict[str, Any] = {"compress_level": PNG_COMPRESS_LEVEL}
    if (alpha < 255).any():
        options["transparency"] = alpha.tobytes()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


@lru_cache(maxsize=8)
def transparent_tile(size_px: int, fmt: ImageFormat) -> bytes:
    """The fully transparent tile of a size and format (encoded once)."""
    return encode_rgba(np.zeros((size_px, size_px, 4), dtype=np.uint8), fmt)


def render_raster_tile(
    source: Grid | Band,
    layer: str,
    tms: morecantile.TileMatrixSet,
    tile: Tile,
    size_px: int = 256,
    fmt: ImageFormat = "png",
    resampling: Resampling = "bilinear",
) -> bytes:
    """One raster tile of a layer as PNG or WebP bytes.

    Parameters
    ----------
    source : Grid or Band
        The field (``blight``, ``uncertainty``) or a probability grid (``forecast``);
        a :class:`Band` from :func:`band_of` saves work when many tiles are rendered.
    layer : str
        ``"blight"``, ``"uncertainty"`` or ``"forecast"``; picks the band and colormap.
    tms, tile : morecantile TileMatrixSet and Tile
        Which tile (see :func:`geo.tiles.matrix.tile_matrix_set`); check it first with
        :func:`geo.tiles.matrix.check_tile`.
    size_px : int
        256 or 512 pixels a side (the same ground either way).
    fmt : {"png", "webp"}
        PNG, or lossless WebP (the colours stay exactly the colormap's).
    resampling : {"bilinear", "nearest"}

    Raises
    ------
    NoSuchTile
        For an unknown raster layer or format.
    InvalidParameter
        For an unsupported size or resampling.
    """
    check_format(fmt)
    values = sample_tile(source, layer, tms, tile, size_px, resampling)
    if np.isnan(values).all():
        return transparent_tile(size_px, fmt)
    cmap = colormap(RASTER_LAYERS[layer].colormap)
    index, missing = lut_indices(values, cmap)
    return encode_indexed(index, missing, cmap, fmt)
