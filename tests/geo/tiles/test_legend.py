"""Legends come from the same colormaps as the tiles."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from geo.colormap import colormap
from geo.errors import InvalidParameter
from geo.tiles.errors import NoSuchTile
from geo.tiles.legend import LEGEND_BAR_HEIGHT_PX, bar_values, legend, legend_png

CMAPS = {"blight": "intensity", "uncertainty": "uncertainty", "forecast": "probability"}


@pytest.mark.parametrize(("layer", "cmap_name"), CMAPS.items())
def test_json_stops_are_the_colormap(layer: str, cmap_name: str) -> None:
    body = legend(layer)
    cmap = colormap(cmap_name)
    assert body["colormap"] == cmap.name and body["units"] == "1" and body["label"]
    assert len(body["stops"]) == 11
    assert body["stops"][0]["value"] == cmap.vmin and body["stops"][-1]["value"] == cmap.vmax
    for stop in body["stops"]:
        assert stop["color"] == cmap.hex(stop["value"])


@pytest.mark.parametrize(("layer", "cmap_name"), CMAPS.items())
def test_png_bar_is_the_colormap(layer: str, cmap_name: str) -> None:
    image = Image.open(io.BytesIO(legend_png(layer, 300)))
    pixels = np.asarray(image.convert("RGBA"))
    assert image.size == (300, LEGEND_BAR_HEIGHT_PX + 16)
    expected = colormap(cmap_name).rgba(bar_values(layer, 300))
    assert np.array_equal(pixels[0], expected) and np.array_equal(pixels[-17], expected)
    labels = pixels[LEGEND_BAR_HEIGHT_PX:, :, :3]
    assert (labels < 100).all(axis=-1).any()  # dark text under the bar


def test_refusals() -> None:
    with pytest.raises(NoSuchTile) as err:
        legend("towers")
    assert err.value.field == "layer"
    with pytest.raises(InvalidParameter) as bad:
        legend_png("blight", 10)
    assert bad.value.field == "width"
