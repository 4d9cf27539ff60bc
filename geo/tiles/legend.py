"""Legends of the raster layers, drawn from the very colormap the tiles use.

:func:`legend` gives the stops (value -> ``#rrggbb``), units and label as plain data;
:func:`legend_png` draws a colour bar whose pixel column ``i`` has the colour of the
value at the centre of that column, with the end and middle values written under it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from geo.colormap import Colormap, colormap
from geo.errors import InvalidParameter
from geo.tiles.catalog import RASTER_LAYERS, raster_layer

__all__ = ["LEGEND_BAR_HEIGHT_PX", "bar_values", "legend", "legend_png"]

LEGEND_BAR_HEIGHT_PX = 24
"""Height of the colour bar at the top of a legend image; labels are below it."""
_LABEL_HEIGHT_PX = 16


def _colormap_of(layer: str) -> Colormap:
    return colormap(raster_layer(layer).colormap)


def legend(layer: str, stops: int = 11) -> dict[str, Any]:
    """The legend of a raster layer as JSON-safe data.

    ``stops`` evenly spaced values from the colormap's ``vmin`` to ``vmax``, each with
    its colour; values beyond the ends take the end colours, and missing data is
    transparent.

    Raises
    ------
    NoSuchTile
        For a layer that is not a raster layer.
    InvalidParameter
        For fewer than 2 or more than 256 stops.
    """
    if not 2 <= stops <= 256:
        raise InvalidParameter("must be within [2, 256]", "stops")
    info = RASTER_LAYERS[raster_layer(layer).name]
    cmap = colormap(info.colormap)
    values = [round(float(v), 6) for v in np.linspace(cmap.vmin, cmap.vmax, stops)]
    return {
        "layer": info.name,
        "label": info.label,
        "units": info.units,
        "description": info.description,
        "colormap": cmap.name,
        "min": cmap.vmin,
        "max": cmap.vmax,
        "nodata": "transparent",
        "stops": [{"value": v, "color": cmap.hex(v)} for v in values],
    }


def bar_values(layer: str, width_px: int) -> np.ndarray:
    """The value drawn in each pixel column of a legend bar ``width_px`` wide."""
    cmap = _colormap_of(layer)
    return cmap.vmin + (np.arange(width_px) + 0.5) / width_px * (cmap.vmax - cmap.vmin)


def legend_png(layer: str, width_px: int = 256) -> bytes:
    """A PNG colour bar of the layer's colormap with its end and middle values below.

    The bar is :data:`LEGEND_BAR_HEIGHT_PX` high; the whole image is 16 px higher.

    Raises
    ------
    NoSuchTile
        For a layer that is not a raster layer.
    InvalidParameter
        For a width outside [64, 2048] pixels.
    """
    if not 64 <= width_px <= 2048:
        raise InvalidParameter("must be within [64, 2048] pixels", "width")
    cmap = _colormap_of(layer)
    row = cmap.rgba(bar_values(layer, width_px))
    bar = np.repeat(row[np.newaxis, :, :], LEGEND_BAR_HEIGHT_PX, axis=0)
    image = Image.new("RGBA", (width_px, LEGEND_BAR_HEIGHT_PX + _LABEL_HEIGHT_PX), "white")
    image.paste(Image.fromarray(bar, "RGBA"), (0, 0))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    mid = (cmap.vmin + cmap.vmax) / 2
    y = LEGEND_BAR_HEIGHT_PX + 2
    draw.text((2, y), f"{cmap.vmin:g}", fill="black", font=font)
    draw.text((width_px // 2, y), f"{mid:g}", fill="black", font=font, anchor="mt")
    draw.text((width_px - 2, y), f"{cmap.vmax:g}", fill="black", font=font, anchor="rt")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
