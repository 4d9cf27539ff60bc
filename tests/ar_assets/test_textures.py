"""Heat patch PNGs decoded with Pillow; cell windows against brute force."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image
from pyproj import CRS

from ar_assets.textures import cell_window, heat_patch_png
from geo.colormap import COLORMAPS
from geo.errors import InvalidParameter
from geo.grid import Grid, GridSpec

SPEC = GridSpec(CRS.from_epsg(32631), 1000.0, 2000.0, 2.0, 7, 5)


def ramp_grid() -> Grid:
    values = np.linspace(0.0, 1.0, 35).reshape(5, 7)
    values[0, 1] = np.nan
    return Grid(SPEC, values, np.zeros(SPEC.shape))


def decode(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"
        return np.asarray(image)


def test_png_is_north_up_through_the_colormap() -> None:
    grid = ramp_grid()
    pixels = decode(heat_patch_png(grid))
    assert pixels.shape == (5, 7, 4)
    expected = COLORMAPS["intensity"].rgba(grid.values)
    finite = np.isfinite(grid.values)
    np.testing.assert_array_equal(pixels[finite][:, :3], expected[finite][:, :3])
    # Row 0 is the northernmost row of the grid, column 0 the westernmost.
    np.testing.assert_array_equal(pixels[0, 0, :3], COLORMAPS["intensity"].rgba(0.0)[:3])
    np.testing.assert_array_equal(pixels[4, 6, :3], COLORMAPS["intensity"].rgba(1.0)[:3])


def test_nan_cells_are_transparent_and_opacity_applies() -> None:
    pixels = decode(heat_patch_png(ramp_grid(), opacity=0.8))
    assert pixels[0, 1, 3] == 0
    alpha = np.delete(pixels[..., 3].ravel(), 1)
    assert set(alpha.tolist()) == {204}


def test_window_selects_cells_by_centre() -> None:
    # x in [1004, 1010) holds the centres 1005, 1007, 1009 -> columns 2..4;
    # y in [1992, 1996) holds the centres 1995, 1993 -> rows 2 and 3 (north first).
    png = heat_patch_png(ramp_grid(), (1004.0, 1992.0, 1010.0, 1996.0), COLORMAPS["uncertainty"])
    pixels = decode(png)
    assert pixels.shape == (2, 3, 4)
    expected = COLORMAPS["uncertainty"].rgba(ramp_grid().values[2:4, 2:5])
    np.testing.assert_array_equal(pixels, expected)


def test_cell_window_matches_brute_force() -> None:
    xs, ys = SPEC.cell_centres()
    edges = [995.0, 1000.0, 1001.0, 1003.0, 1006.0, 1013.9, 1014.0, 1020.0]
    y_edges = [1985.0, 1990.0, 1991.0, 1994.5, 1999.0, 2000.0, 2005.0]
    for (x0, x1), (y0, y1) in itertools.product(
        itertools.combinations(edges, 2), itertools.combinations(y_edges, 2)
    ):
        w = cell_window(SPEC, (x0, y0, x1, y1))
        cols = np.flatnonzero((xs >= x0) & (xs < x1))
        rows = np.flatnonzero((ys >= y0) & (ys < y1))
        assert list(range(w.col_start, w.col_stop)) == cols.tolist()
        assert list(range(w.row_start, w.row_stop)) == rows.tolist()
        if not w.empty:
            assert w.bounds_m == (
                1000.0 + 2 * cols[0],
                2000.0 - 2 * (rows[-1] + 1),
                1000.0 + 2 * (cols[-1] + 1),
                2000.0 - 2 * rows[0],
            )


def test_adjacent_windows_share_no_cell() -> None:
    left = cell_window(SPEC, (1000.0, 1990.0, 1006.0, 2000.0))
    right = cell_window(SPEC, (1006.0, 1990.0, 1014.0, 2000.0))
    assert left.col_stop == right.col_start
    assert left.shape[1] + right.shape[1] == SPEC.width


def test_whole_grid_by_default() -> None:
    window = cell_window(SPEC)
    assert window.shape == SPEC.shape
    assert window.bounds_m == SPEC.bounds_m


@pytest.mark.parametrize(
    ("window", "opacity"),
    [((2000.0, 0.0, 2010.0, 10.0), 1.0), ((0.0, 0.0, float("nan"), 1.0), 1.0), (None, 1.5)],
)
def test_bad_windows_and_opacities_are_refused(
    window: tuple[float, float, float, float] | None, opacity: float
) -> None:
    with pytest.raises(InvalidParameter):
        heat_patch_png(ramp_grid(), window, opacity=opacity)


def test_png_bytes_are_deterministic() -> None:
    assert heat_patch_png(ramp_grid()) == heat_patch_png(ramp_grid())
