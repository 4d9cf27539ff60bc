"""Raster tiles: sampling, transparency, sizes, formats and colours."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from scipy.interpolate import RegularGridInterpolator

from geo.colormap import colormap
from geo.errors import InvalidParameter
from geo.grid import Grid, GridSpec
from geo.tiles.errors import NoSuchTile
from geo.tiles.matrix import Tile, pixel_centres, tile_bounds, tile_matrix_set, tms_crs
from geo.tiles.raster import (
    band_of,
    encode_indexed,
    lut_indices,
    render_raster_tile,
    sample_tile,
    transparent_tile,
)
from tests.geo.tiles.conftest import CENTRE_LONLAT, linear_value

WEB = tile_matrix_set("WebMercatorQuad")


def centre_tile(zoom: int, tms_id: str = "WebMercatorQuad") -> Tile:
    return tile_matrix_set(tms_id).tile(*CENTRE_LONLAT, zoom)


def exact_grid_points(tms_id: str, tile: Tile, size_px: int, spec: GridSpec) -> tuple:
    """Every pixel centre transformed exactly (no lattice) into the grid's CRS."""
    tms = tile_matrix_set(tms_id)
    xs, ys = pixel_centres(tile_bounds(tms, tile), size_px)
    gx, gy = np.meshgrid(xs, ys)
    forward = Transformer.from_crs(tms_crs(tms_id), spec.crs, always_xy=True)
    return forward.transform(gx, gy)


def decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    # PNG tiles are palette images (tRNS for the transparent entry); libwebp drops an
    # alpha channel that is all opaque
    assert image.mode in ("P", "RGBA", "RGB")
    return np.asarray(image.convert("RGBA"))


@pytest.mark.parametrize("tms_id", ["WebMercatorQuad", "WorldCRS84Quad"])
@pytest.mark.parametrize("zoom", [16, 18, 20])
def test_linear_field_is_reproduced_at_every_pixel(
    linear_grid: Grid, tms_id: str, zoom: int
) -> None:
    """Bilinear sampling of a linear field is exact, so what remains is the error of the
    approximate (lattice) transform and of the float32 offsets between lattice nodes:
    it must stay below a millimetre."""
    tile = centre_tile(zoom, tms_id)
    values = sample_tile(linear_grid, "blight", tile_matrix_set(tms_id), tile, 256)
    x, y = exact_grid_points(tms_id, tile, 256, linear_grid.spec)
    expected = linear_value(np.asarray(x), np.asarray(y), linear_grid.spec)
    spec = linear_grid.spec
    minx, miny, maxx, maxy = spec.bounds_m
    half = spec.resolution_m / 2
    interior = (x > minx + half) & (x < maxx - half) & (y > miny + half) & (y < maxy - half)
    assert interior.sum() > 1000
    # 1e-3 per metre: 1e-6 of intensity is 1 mm of position
    assert np.max(np.abs(values[interior] - expected[interior])) < 1e-6


def test_bilinear_matches_scipy_and_nearest_matches_the_cells(random_grid: Grid) -> None:
    spec = random_grid.spec
    tile = centre_tile(18)
    x, y = (np.asarray(a) for a in exact_grid_points("WebMercatorQuad", tile, 256, spec))
    xs, ys = spec.cell_centres()
    reference = RegularGridInterpolator(
        (ys[::-1], xs), random_grid.values[::-1], method="linear", bounds_error=False
    )((y, x))
    bilinear = sample_tile(random_grid, "blight", WEB, tile, 256, "bilinear")
    both = np.isfinite(reference)
    assert both.sum() > 10_000
    # float32 offsets between lattice nodes: 1e-5 of a cell (0.05 mm) at worst, and
    # neighbouring random cells differ by up to 1
    np.testing.assert_allclose(bilinear[both], reference[both], atol=5e-5)
    nearest = sample_tile(random_grid, "blight", WEB, tile, 256, "nearest")
    cells, _ = random_grid.sample(x, y)
    # the lattice moves points by far less than a millimetre: only cell edges could differ
    agree = np.isclose(nearest, cells, equal_nan=True)
    assert agree.mean() > 0.999


def test_nan_cells_and_the_outside_are_transparent(random_grid: Grid) -> None:
    spec = random_grid.spec
    tile = centre_tile(15)  # holds the whole grid, its NaN block and the outside
    rgba = decode(render_raster_tile(random_grid, "blight", WEB, tile, 256, "png"))
    x, y = (np.asarray(a) for a in exact_grid_points("WebMercatorQuad", tile, 256, spec))
    cells, _ = random_grid.sample(x, y)
    opaque = rgba[..., 3] == 255
    clear = rgba[..., 3] == 0
    assert np.all(opaque | clear)
    safe = _away_from_cell_edges(x, y, spec)
    assert np.array_equal(opaque[safe], np.isfinite(cells)[safe])
    assert clear[safe].sum() > 100 and opaque[safe].sum() > 1000  # both kinds present


def _away_from_cell_edges(x: np.ndarray, y: np.ndarray, spec: GridSpec) -> np.ndarray:
    fx = ((x - spec.west_m) / spec.resolution_m) % 1.0
    fy = ((spec.north_m - y) / spec.resolution_m) % 1.0
    return (np.abs(fx - 0.5) < 0.45) & (np.abs(fy - 0.5) < 0.45)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_tile_far_from_the_grid_is_transparent(linear_grid: Grid, fmt: str) -> None:
    tile = WEB.tile(-74.0, 40.7, 15)  # New York
    data = render_raster_tile(linear_grid, "blight", WEB, tile, 512, fmt)  # type: ignore[arg-type]
    assert data == transparent_tile(512, fmt)  # type: ignore[arg-type]
    rgba = decode(data)
    assert rgba.shape == (512, 512, 4) and not rgba[..., 3].any()


@pytest.mark.parametrize("fmt", ["png", "webp"])
@pytest.mark.parametrize("layer", ["blight", "uncertainty"])
def test_colours_are_the_layer_colormap_exactly(random_grid: Grid, fmt: str, layer: str) -> None:
    tile = centre_tile(17)
    values = sample_tile(random_grid, layer, WEB, tile, 256)
    expected = colormap("intensity" if layer == "blight" else "uncertainty").rgba(values)
    got = decode(render_raster_tile(random_grid, layer, WEB, tile, 256, fmt))  # type: ignore[arg-type]
    assert np.array_equal(got, expected)


def test_uncertainty_shows_the_standard_error(random_grid: Grid) -> None:
    tile = centre_tile(18)
    se = sample_tile(random_grid, "uncertainty", WEB, tile, 256, "nearest")
    x, y = (
        np.asarray(a) for a in exact_grid_points("WebMercatorQuad", tile, 256, random_grid.spec)
    )
    _, cells_se = random_grid.sample(x, y)
    agree = np.isclose(se, cells_se, equal_nan=True)
    assert agree.mean() > 0.999 and np.nanmax(se) <= np.sqrt(0.2) + 1e-12


def test_512_is_the_same_ground_at_twice_the_density(linear_grid: Grid) -> None:
    """For a linear field the mean of each 2x2 block of a 512 tile is the 256 tile's pixel."""
    tile = centre_tile(18)
    small = sample_tile(linear_grid, "blight", WEB, tile, 256)
    large = sample_tile(linear_grid, "blight", WEB, tile, 512)
    blocks = large.reshape(256, 2, 256, 2).mean(axis=(1, 3))
    both = np.isfinite(small) & np.isfinite(blocks)
    assert both.sum() > 10_000
    np.testing.assert_allclose(blocks[both], small[both], atol=1e-6)
    png = decode(render_raster_tile(linear_grid, "blight", WEB, tile, 512, "png"))
    assert png.shape == (512, 512, 4)


def test_pixel_over_a_point_has_its_value_through_the_colormap(linear_grid: Grid) -> None:
    tile = centre_tile(19)
    rgba = decode(render_raster_tile(linear_grid, "blight", WEB, tile, 256, "png"))
    minx, miny, maxx, maxy = tile_bounds(WEB, tile)
    px, py = Transformer.from_crs(4326, 3857, always_xy=True).transform(*CENTRE_LONLAT)
    col = int((px - minx) / (maxx - minx) * 256)
    row = int((maxy - py) / (maxy - miny) * 256)
    x, y = Transformer.from_crs(4326, 32631, always_xy=True).transform(*CENTRE_LONLAT)
    value = float(linear_value(np.array(x), np.array(y), linear_grid.spec))
    # the pixel is at most half a pixel (0.15 m at z19) from the point: 2e-4 of intensity
    expected = colormap("intensity").rgba(value)
    assert np.abs(rgba[row, col].astype(int) - expected.astype(int)).max() <= 2


def test_forecast_takes_a_probability_band(spec: GridSpec) -> None:
    probability = np.full(spec.shape, 0.75)
    band = band_of(Grid(spec, probability, np.zeros(spec.shape)), "forecast")
    rgba = decode(render_raster_tile(band, "forecast", WEB, centre_tile(18), 256, "png"))
    assert np.all(rgba[..., :4] == colormap("probability").rgba(0.75))


def test_refusals_name_the_field(linear_grid: Grid) -> None:
    tile = centre_tile(16)
    with pytest.raises(NoSuchTile) as err:
        render_raster_tile(linear_grid, "towers", WEB, tile)
    assert err.value.field == "layer"
    with pytest.raises(NoSuchTile) as err:
        render_raster_tile(linear_grid, "blight", WEB, tile, 256, "jpeg")  # type: ignore[arg-type]
    assert err.value.field == "format"
    with pytest.raises(InvalidParameter) as bad:
        render_raster_tile(linear_grid, "blight", WEB, tile, 1024)
    assert bad.value.field == "size_px"
    with pytest.raises(InvalidParameter) as bad:
        sample_tile(linear_grid, "blight", WEB, tile, 256, "cubic")  # type: ignore[arg-type]
    assert bad.value.field == "resampling"


def test_lut_indices_round_as_the_colormap_does() -> None:
    cmap = colormap("intensity")
    k = np.arange(256, dtype=np.float64)
    values = np.concatenate([(k + 0.5) / 255, k / 255, [-1.0, 2.0, np.nan, 0.9, 1e-12]])
    index, missing = lut_indices(values, cmap)
    expected = cmap.rgba(values)
    assert np.array_equal(missing, np.isnan(values))
    assert np.array_equal(cmap.lut[index][~missing], expected[~missing])


@pytest.mark.parametrize("all_entries", [False, True])
def test_indexed_png_decodes_to_the_lut_and_transparency(all_entries: bool) -> None:
    """Missing pixels take an entry the tile does not use; with none free, RGBA is written."""
    cmap = colormap("uncertainty")
    index = np.tile(np.arange(256, dtype=np.uint8), (64, 1))  # every entry is used
    if not all_entries:
        index[index == 17] = 18
    missing = np.zeros(index.shape, dtype=bool)
    missing[10:20, 100:140] = True
    data = encode_indexed(index, missing, cmap, "png")
    image = Image.open(io.BytesIO(data))
    assert image.mode == ("RGBA" if all_entries else "P")
    got = np.asarray(image.convert("RGBA"))
    assert np.array_equal(got[~missing], cmap.lut[index][~missing])
    assert not got[missing].any()
    webp = decode(encode_indexed(index, missing, cmap, "webp"))
    assert np.array_equal(webp[~missing], cmap.lut[index][~missing])
    assert not webp[missing][:, 3].any()
