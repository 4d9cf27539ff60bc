"""The layer colormaps: perceptual order and uniformity (colorspacious), CVD safety,
matplotlib's tables, NaN handling, shapes and dtypes."""

from __future__ import annotations

import math
import re

import colorspacious
import numpy as np
import pytest
from matplotlib import colormaps as mpl_colormaps
from matplotlib import colors as mpl_colors
from numpy.typing import NDArray

from geo.colormap import COLORMAPS, LUT_SIZE, Colormap, colormap, lab_to_srgb8
from geo.errors import InvalidParameter

LAYERS = sorted(COLORMAPS)
CVD_TYPES = ["deuteranomaly", "protanomaly", "tritanomaly"]


def lightness(rgb8: NDArray[np.uint8]) -> NDArray[np.float64]:
    """CIELAB L* (D65) of sRGB colours, computed by colorspacious."""
    lab = colorspacious.cspace_convert(rgb8[..., :3] / 255.0, "sRGB1", "CIELab")
    return np.asarray(lab[..., 0], dtype=np.float64)


def test_the_three_layers() -> None:
    assert LAYERS == ["intensity", "probability", "uncertainty"]
    assert (COLORMAPS["intensity"].vmin, COLORMAPS["intensity"].vmax) == (0.0, 1.0)
    assert (COLORMAPS["uncertainty"].vmin, COLORMAPS["uncertainty"].vmax) == (0.0, 0.5)
    assert colormap("intensity") is COLORMAPS["intensity"]
    with pytest.raises(TypeError):
        COLORMAPS["other"] = COLORMAPS["intensity"]  # type: ignore[index]


@pytest.mark.parametrize("layer", LAYERS)
def test_lut_shape_dtype_and_read_only(layer: str) -> None:
    lut = COLORMAPS[layer].lut
    assert lut.shape == (LUT_SIZE, 4)
    assert lut.dtype == np.uint8
    assert np.all(lut[:, 3] == 255)
    with pytest.raises(ValueError, match="read-only"):
        lut[0, 0] = 1


def assert_monotonic(l_star: NDArray[np.float64]) -> None:
    """Strictly monotonic over every 8th entry; within 8-bit rounding between neighbours."""
    sign = np.sign(l_star[-1] - l_star[0])
    coarse = sign * np.diff(l_star[::8])
    assert coarse.min() > 0.9, coarse.min()
    assert (sign * np.diff(l_star)).min() > -0.15


@pytest.mark.parametrize("layer", LAYERS)
def test_lightness_is_monotonic(layer: str) -> None:
    l_star = lightness(COLORMAPS[layer].lut)
    assert_monotonic(l_star)
    assert abs(l_star[-1] - l_star[0]) > 60.0  # a wide lightness range: readable in grey


@pytest.mark.parametrize("cvd_type", CVD_TYPES)
@pytest.mark.parametrize("layer", LAYERS)
def test_lightness_stays_monotonic_for_colour_blind_viewers(layer: str, cvd_type: str) -> None:
    rgb = COLORMAPS[layer].lut[:, :3] / 255.0
    cvd = {"name": "sRGB1+CVD", "cvd_type": cvd_type, "severity": 100}
    seen = np.clip(colorspacious.cspace_convert(rgb, cvd, "sRGB1"), 0.0, 1.0)
    assert_monotonic(colorspacious.cspace_convert(seen, "sRGB1", "CIELab")[:, 0])


@pytest.mark.parametrize("layer", LAYERS)
def test_perceptual_steps_are_even(layer: str) -> None:
    rgb = COLORMAPS[layer].lut[::8, :3] / 255.0  # 32 steps: 8-bit noise stays small
    jab = colorspacious.cspace_convert(rgb, "sRGB1", "CAM02-UCS")
    steps = np.linalg.norm(np.diff(jab, axis=0), axis=1)
    assert steps.std() / steps.mean() < 0.1  # coefficient of variation of delta E'


def test_a_rainbow_would_fail_these_checks() -> None:
    jet = np.rint(mpl_colormaps["jet"](np.linspace(0.0, 1.0, LUT_SIZE)) * 255).astype(np.uint8)
    with pytest.raises(AssertionError):
        assert_monotonic(lightness(jet))


@pytest.mark.parametrize(("layer", "name"), [("intensity", "cividis"), ("probability", "viridis")])
def test_tables_are_matplotlibs(layer: str, name: str) -> None:
    expected = mpl_colormaps[name](np.linspace(0.0, 1.0, LUT_SIZE))
    assert np.abs(COLORMAPS[layer].lut / 255.0 - expected).max() <= 0.5 / 255.0 + 1e-12
    assert COLORMAPS[layer].name == name
    for value in (0.0, 0.3, 1.0):
        assert COLORMAPS[layer].hex(value) == mpl_colors.to_hex(mpl_colormaps[name](value))


def test_uncertainty_ramp_is_linear_in_lightness() -> None:
    l_star = lightness(COLORMAPS["uncertainty"].lut)
    assert l_star[0] == pytest.approx(95.0, abs=0.5)
    assert l_star[-1] == pytest.approx(22.0, abs=0.5)
    fit = np.polyval(np.polyfit(np.arange(LUT_SIZE), l_star, 1), np.arange(LUT_SIZE))
    assert np.abs(l_star - fit).max() < 0.5  # 8-bit rounding only
    # A grey-purple: low chroma at the light end, purple (red and blue over green) at the dark.
    r, g, b = (int(c) for c in COLORMAPS["uncertainty"].lut[-1, :3])
    assert b > r > g
    light = COLORMAPS["uncertainty"].lut[0, :3].astype(int)
    assert light.max() - light.min() < 8


@pytest.mark.parametrize("layer", LAYERS)
def test_endpoints_and_clipping(layer: str) -> None:
    cmap = COLORMAPS[layer]
    np.testing.assert_array_equal(cmap.rgba(cmap.vmin), cmap.lut[0])
    np.testing.assert_array_equal(cmap.rgba(cmap.vmax), cmap.lut[-1])
    np.testing.assert_array_equal(cmap.rgba(cmap.vmin - 5.0), cmap.lut[0])
    np.testing.assert_array_equal(cmap.rgba(math.inf), cmap.lut[-1])
    np.testing.assert_array_equal(cmap.rgba(-math.inf), cmap.lut[0])
    mid = (cmap.vmin + cmap.vmax) / 2
    np.testing.assert_array_equal(cmap.rgba(mid), cmap.lut[128])  # 127.5 rounds to even


@pytest.mark.parametrize("layer", LAYERS)
def test_nan_is_transparent_and_shapes_are_kept(layer: str) -> None:
    cmap = COLORMAPS[layer]
    values = np.array([[0.1, math.nan, 0.3], [math.nan, 0.0, 2.0]])
    out = cmap.rgba(values)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[np.isnan(values)], [[0, 0, 0, 0], [0, 0, 0, 0]])
    assert np.all(out[~np.isnan(values)][:, 3] == 255)
    assert cmap.rgba(0.2).shape == (4,)
    assert cmap.rgba([]).shape == (0, 4)


@pytest.mark.parametrize("layer", LAYERS)
def test_hex(layer: str) -> None:
    cmap = COLORMAPS[layer]
    for value in np.linspace(cmap.vmin, cmap.vmax, 7):
        code = cmap.hex(float(value))
        assert re.fullmatch(r"#[0-9a-f]{6}", code)
        assert [int(code[i : i + 2], 16) for i in (1, 3, 5)] == cmap.rgba(value)[:3].tolist()
    with pytest.raises(InvalidParameter):
        cmap.hex(math.nan)


def test_cividis_ends() -> None:
    assert colormap("intensity").hex(0.0) == "#00224e"
    assert colormap("intensity").hex(1.0) == "#fee838"


def test_unknown_layer() -> None:
    with pytest.raises(InvalidParameter) as caught:
        colormap("rainbow")
    assert "rainbow" not in str(caught.value)  # never echo raw input back


def test_colormap_validates_its_table() -> None:
    with pytest.raises(InvalidParameter):
        Colormap("short", np.zeros((10, 4), np.uint8), 0.0, 1.0)
    with pytest.raises(InvalidParameter):
        Colormap("floats", np.zeros((256, 4)), 0.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter):
        Colormap("flat", np.zeros((256, 4), np.uint8), 1.0, 1.0)


@pytest.mark.parametrize(
    "lab", [(50.0, 0.0, 0.0), (95.0, 1.7, -2.5), (22.0, 22.9, -32.8), (60.0, 40.0, 30.0)]
)
def test_lab_to_srgb_agrees_with_colorspacious(lab: tuple[float, float, float]) -> None:
    expected = np.clip(colorspacious.cspace_convert(lab, "CIELab", "sRGB1"), 0.0, 1.0) * 255
    assert np.abs(lab_to_srgb8(lab).astype(float) - expected).max() <= 1.0
