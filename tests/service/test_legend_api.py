"""Legends over HTTP: the same colormap as the tiles, as data and as an image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from geo.colormap import colormap
from geo.tiles.legend import LEGEND_BAR_HEIGHT_PX, bar_values

LAYERS = {"blight": "intensity", "uncertainty": "uncertainty", "forecast": "probability"}


@pytest.mark.parametrize(("layer", "cmap"), LAYERS.items())
def test_json_legend_is_the_tile_colormap(client: TestClient, layer: str, cmap: str) -> None:
    r = client.get(f"/legend/{layer}.json")
    assert r.status_code == 200 and "max-age" in r.headers["cache-control"]
    body = r.json()
    lut = colormap(cmap)
    assert body["layer"] == layer and body["units"] == "1" and body["label"]
    assert (body["min"], body["max"]) == (lut.vmin, lut.vmax)
    assert [s["color"] for s in body["stops"]] == [lut.hex(s["value"]) for s in body["stops"]]
    assert len(client.get(f"/legend/{layer}.json", params={"stops": 5}).json()["stops"]) == 5


@pytest.mark.parametrize(("layer", "cmap"), LAYERS.items())
def test_png_legend_is_the_tile_colormap(client: TestClient, layer: str, cmap: str) -> None:
    r = client.get(f"/legend/{layer}.png", params={"width": 200})
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (200, LEGEND_BAR_HEIGHT_PX + 16)
    pixels = np.asarray(image.convert("RGBA"))
    assert np.array_equal(
        pixels[LEGEND_BAR_HEIGHT_PX // 2], colormap(cmap).rgba(bar_values(layer, 200))
    )


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/legend/towers.json", {}, 404, "layer"),
        ("/legend/heat.png", {}, 404, "layer"),
        ("/legend/blight.png", {"width": "10"}, 400, "width"),
        ("/legend/blight.png", {"width": "wide"}, 400, "width"),
        ("/legend/blight.json", {"stops": "1"}, 400, "stops"),
        ("/legend/blight.json", {"palette": "x"}, 400, "palette"),
    ],
)
def test_bad_legend_requests(
    client: TestClient, path: str, params: dict[str, str], status: int, field: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert "cache-control" not in r.headers
