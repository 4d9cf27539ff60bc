"""One colormap per layer, shared by the AR overlays, the map tiles and the legends.

Every map here is sequential, has lightness that changes monotonically from one end
to the other (so it prints in grey and reads for viewers with any common colour-vision
deficiency: lightness alone orders the values) and has nearly even perceptual steps:

``intensity`` -> matplotlib ``cividis`` (0 to 1)
    Nuñez, Anderton & Renslow (2018), *Optimizing colormaps with consideration for
    color vision deficiency*, PLOS ONE 13(7): e0199239. Viridis re-optimised so that
    deuteranomalous and protanomalous viewers see nearly the same map, with lightness
    linear in CAM02-UCS; dark blue through grey to yellow. Blight intensity is the
    main layer and the one most often read by people in the field, so it gets the map
    designed for colour-vision deficiency first.
``uncertainty`` -> ``blightmap-greypurple`` (standard error, 0 to 0.5)
    A straight line in CIELAB at hue 305 degrees, from a near-white lavender grey
    (L* 95, chroma 3) to a deep purple (L* 22, chroma 40): lightness falls linearly
    and the steps are even in CIELAB by construction (and within a few percent in
    CAM02-UCS); one hue only, so it cannot be confused with the intensity map and
    stays ordered for every kind of colour blindness. 0.5 is the largest standard
    deviation a quantity bounded in [0, 1] can have.
``probability`` -> matplotlib ``viridis`` (0 to 1)
    The reference perceptually uniform, colour-blind-safe map (van der Walt & Smith,
    matplotlib 2.0); its path through green keeps it distinct from ``cividis``.

The lookup tables are built once at import: from matplotlib's own 256-entry tables
(its ``ListedColormap`` data, no interpolation, rounded to 8 bits as matplotlib's
``to_hex`` does) and from a closed-form CIELAB ramp, so they are the same on every
machine. 8-bit rounding makes neighbouring entries differ by less than 0.15 L* in the
wrong direction at worst; every eighth entry is strictly ordered.

Examples
--------
>>> colormap("intensity").hex(0.0)
'#00224e'
>>> colormap("intensity").rgba([0.0, float("nan")]).tolist()
[[0, 34, 78, 255], [0, 0, 0, 0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from matplotlib import colormaps as _mpl_colormaps

from geo.errors import InvalidParameter

__all__ = ["COLORMAPS", "LUT_SIZE", "Colormap", "colormap", "lab_to_srgb8"]

LUT_SIZE = 256
"""Entries of every lookup table."""

Uint8Array = npt.NDArray[np.uint8]

_D65_WHITE_XYZ = np.array([0.95047, 1.0, 1.08883])
_XYZ_TO_LINEAR_SRGB = np.array(
    [
        [3.2404542, -1.5371385, -0.4985314],
        [-0.9692660, 1.8760108, 0.0415560],
        [0.0556434, -0.2040259, 1.0572252],
    ]
)


@dataclass(frozen=True, eq=False)
class Colormap:
    """A named lookup table from values in ``[vmin, vmax]`` to sRGB colours.

    Attributes
    ----------
    name : str
        What the table is (``"cividis"``, ``"blightmap-greypurple"``...).
    lut : ndarray of uint8, shape (256, 4)
        sRGB red, green, blue and alpha (255: opaque); read-only.
    vmin, vmax : float
        The values mapped to the first and last entries; values outside are clipped.
    """

    name: str
    lut: Uint8Array = field(repr=False)
    vmin: float
    vmax: float

    def __post_init__(self) -> None:
        if self.lut.shape != (LUT_SIZE, 4) or self.lut.dtype != np.uint8:
            raise InvalidParameter("must be a (256, 4) uint8 RGBA table", "lut")
        if not (math.isfinite(self.vmin) and math.isfinite(self.vmax) and self.vmax > self.vmin):
            raise InvalidParameter("vmin and vmax must be finite with vmax > vmin", "vmax")
        lut = np.array(self.lut, dtype=np.uint8, copy=True)
        lut.setflags(write=False)
        object.__setattr__(self, "lut", lut)

    def rgba(self, values: npt.ArrayLike) -> Uint8Array:
        """sRGB colours of ``values``: uint8 array of shape ``values.shape + (4,)``.

        Values are clipped to ``[vmin, vmax]`` and rounded to the nearest of the 256
        entries; NaN maps to transparent black ``(0, 0, 0, 0)``.
        """
        v = np.asarray(values, dtype=np.float64)
        scaled = (v - self.vmin) / (self.vmax - self.vmin) * (LUT_SIZE - 1)
        index = np.clip(np.rint(np.nan_to_num(scaled, nan=0.0)), 0, LUT_SIZE - 1)
        out = np.take(self.lut, index.astype(np.intp), axis=0)
        out[np.isnan(v)] = 0
        return out

    def hex(self, value: float) -> str:
        """``"#rrggbb"`` of one value (alpha dropped).

        Raises
        ------
        InvalidParameter
            If ``value`` is NaN: missing data has no colour, callers choose how to
            show it.
        """
        if math.isnan(value):
            raise InvalidParameter("NaN has no colour", "value")
        r, g, b, _ = (int(c) for c in self.rgba(value))
        return f"#{r:02x}{g:02x}{b:02x}"


def lab_to_srgb8(lab: npt.ArrayLike) -> Uint8Array:
    """CIELAB (D65) to 8-bit sRGB; out-of-gamut channels are clipped.

    Parameters
    ----------
    lab : array_like, shape (..., 3)
        L* in [0, 100], a*, b*.

    Returns
    -------
    ndarray of uint8, shape (..., 3)
    """
    lab_arr = np.asarray(lab, dtype=np.float64)
    fy = (lab_arr[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab_arr[..., 1] / 500.0, fy, fy - lab_arr[..., 2] / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f**3, 3.0 * delta**2 * (f - 4.0 / 29.0)) * _D65_WHITE_XYZ
    linear = np.clip(xyz @ _XYZ_TO_LINEAR_SRGB.T, 0.0, 1.0)
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1.0 / 2.4) - 0.055)
    return np.asarray(np.rint(srgb * 255.0), dtype=np.uint8)


def _lab_ramp(
    lightness: tuple[float, float], chroma: tuple[float, float], hue_deg: float
) -> Uint8Array:
    """An opaque LUT along the straight CIELAB segment between two colours of one hue."""
    t = np.linspace(0.0, 1.0, LUT_SIZE)
    big_l = lightness[0] + (lightness[1] - lightness[0]) * t
    c = chroma[0] + (chroma[1] - chroma[0]) * t
    h = math.radians(hue_deg)
    rgb = lab_to_srgb8(np.stack([big_l, c * math.cos(h), c * math.sin(h)], axis=-1))
    return np.concatenate([rgb, np.full((LUT_SIZE, 1), 255, dtype=np.uint8)], axis=1)


def _matplotlib_lut(name: str) -> Uint8Array:
    rgba = _mpl_colormaps[name].resampled(LUT_SIZE)(np.arange(LUT_SIZE))
    return np.asarray(np.rint(rgba * 255.0), dtype=np.uint8)  # rounded, as matplotlib's to_hex


COLORMAPS: Mapping[str, Colormap] = MappingProxyType(
    {
        "intensity": Colormap("cividis", _matplotlib_lut("cividis"), 0.0, 1.0),
        "uncertainty": Colormap(
            "blightmap-greypurple", _lab_ramp((95.0, 22.0), (3.0, 40.0), 305.0), 0.0, 0.5
        ),
        "probability": Colormap("viridis", _matplotlib_lut("viridis"), 0.0, 1.0),
    }
)
"""Layer name -> its colormap (read-only)."""


def colormap(layer_name: str) -> Colormap:
    """The colormap of a layer (``"intensity"``, ``"uncertainty"``, ``"probability"``).

    Raises
    ------
    InvalidParameter
        If there is no such layer.
    """
    try:
        return COLORMAPS[layer_name]
    except KeyError:
        known = ", ".join(sorted(COLORMAPS))
        raise InvalidParameter(f"unknown layer; known layers: {known}", "layer") from None
