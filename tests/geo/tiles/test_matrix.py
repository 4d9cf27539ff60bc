"""Tile math against morecantile's own bounds and matrices."""

from __future__ import annotations

import morecantile
import numpy as np
import pytest
from pyproj import Transformer

from geo.errors import InvalidParameter
from geo.tiles.errors import NoSuchTile
from geo.tiles.matrix import (
    TILE_MATRIX_SETS,
    Tile,
    check_size,
    check_tile,
    pixel_centres,
    tile_bounds,
    tile_matrix_set,
    tms_crs,
)
from tests.geo.tiles.conftest import CENTRE_LONLAT


@pytest.mark.parametrize("tms_id", TILE_MATRIX_SETS)
@pytest.mark.parametrize("zoom", [0, 5, 14, 19])
def test_tile_of_a_point_holds_it(tms_id: str, zoom: int) -> None:
    tms = tile_matrix_set(tms_id)
    tile = tms.tile(*CENTRE_LONLAT, zoom)
    minx, miny, maxx, maxy = tile_bounds(tms, tile)
    x, y = Transformer.from_crs(4326, tms_crs(tms_id), always_xy=True).transform(*CENTRE_LONLAT)
    assert minx <= x < maxx and miny < y <= maxy
    reference = morecantile.tms.get(tms_id).xy_bounds(tile)
    assert (minx, miny, maxx, maxy) == pytest.approx(tuple(reference), abs=1e-9)


def test_web_mercator_tile_bounds_are_the_quadtree() -> None:
    tms = tile_matrix_set("WebMercatorQuad")
    half = 20037508.342789244
    assert tile_bounds(tms, Tile(0, 0, 0)) == pytest.approx((-half, -half, half, half))
    z = 14
    size = 2 * half / 2**z
    minx, miny, maxx, maxy = tile_bounds(tms, Tile(8412, 5405, z))
    assert minx == pytest.approx(-half + 8412 * size) and maxx - minx == pytest.approx(size)
    assert maxy == pytest.approx(half - 5405 * size) and maxy - miny == pytest.approx(size)


def test_world_crs84_quad_has_two_columns_at_zoom_0() -> None:
    tms = tile_matrix_set("WorldCRS84Quad")
    assert tile_bounds(tms, Tile(1, 0, 0)) == pytest.approx((0.0, -90.0, 180.0, 90.0))
    check_tile(tms, Tile(1, 0, 0))
    with pytest.raises(NoSuchTile) as err:
        check_tile(tms, Tile(0, 1, 0))
    assert err.value.field == "y"


@pytest.mark.parametrize("size_px", [256, 512])
def test_pixel_centres_are_half_a_pixel_inside(size_px: int) -> None:
    bounds = tile_bounds(tile_matrix_set("WebMercatorQuad"), Tile(8412, 5405, 14))
    xs, ys = pixel_centres(bounds, size_px)
    step = (bounds[2] - bounds[0]) / size_px
    assert xs.shape == ys.shape == (size_px,)
    assert xs[0] == pytest.approx(bounds[0] + step / 2) and xs[-1] == pytest.approx(
        bounds[2] - step / 2
    )
    assert ys[0] == pytest.approx(bounds[3] - step / 2) and np.all(np.diff(ys) < 0)


@pytest.mark.parametrize(
    ("tile", "minzoom", "maxzoom", "field"),
    [
        (Tile(0, 0, 23), 0, 22, "z"),
        (Tile(0, 0, 9), 10, 20, "z"),
        (Tile(1 << 14, 0, 14), 0, 22, "x"),
        (Tile(-1, 0, 14), 0, 22, "x"),
        (Tile(0, 1 << 14, 14), 0, 22, "y"),
        (Tile(0, 0, 25), 0, None, "z"),
    ],
)
def test_check_tile_names_the_part_at_fault(
    tile: Tile, minzoom: int, maxzoom: int | None, field: str
) -> None:
    with pytest.raises(NoSuchTile) as err:
        check_tile(tile_matrix_set("WebMercatorQuad"), tile, minzoom, maxzoom)
    assert err.value.field == field


def test_unknown_matrix_set_and_size() -> None:
    with pytest.raises(NoSuchTile) as err:
        tile_matrix_set("GoogleMapsCompatible")
    assert err.value.field == "tileMatrixSetId"
    with pytest.raises(InvalidParameter) as bad:
        check_size(300)
    assert bad.value.field == "size_px"
