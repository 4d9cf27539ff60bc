"""/map in headless Chromium (issue 14, finding 7): zone ranks and tower names are on
the map without overlapping each other or any tower, fewer when zoomed out, gone with
their layer; an imported basemap in RD New is drawn under the field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.auth import Role
from service.cli import main
from tests.basemap_files import write_rd_gpkg
from tests.conftest import LiveServer
from tests.service.test_map_browser import ARGS, CHROMIUM, LIVE, _keys, _require_tools, _settle

pytestmark = pytest.mark.live

# The visible labels (text, kind, screen box) and every tower's dot on screen.
LABELS = """() => {
  const map = window.__maplibre;
  const labels = [...document.querySelectorAll('.map-label')]
    .filter((el) => !el.hidden && el.getBoundingClientRect().width > 0)
    .map((el) => { const r = el.getBoundingClientRect();
      return {text: el.textContent, kind: el.dataset.kind,
              box: [r.left, r.top, r.right, r.bottom]}; });
  const src = map.getSource('tower-points')._data;
  const dots = (src.features || []).map((f) => { const p = map.project(f.geometry.coordinates);
    return [p.x, p.y]; });
  const panel = document.getElementById('panel').getBoundingClientRect();
  return {labels, dots, panel: [panel.left, panel.top, panel.right, panel.bottom],
          state: window.__map.labels};
}"""

LAYER_ORDER = "() => window.__maplibre.getStyle().layers.map((l) => l.id)"
BASEMAP_DRAWN = (
    "() => window.__maplibre.queryRenderedFeatures({layers: ['basemap-buildings']}).length"
)


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _check_apart(seen: dict[str, Any]) -> None:
    labels = seen["labels"]
    for i, a in enumerate(labels):
        assert not _overlap(a["box"], seen["panel"]), a  # nothing hides under the panel
        for b in labels[i + 1 :]:
            assert not _overlap(a["box"], b["box"]), (a, b)
        for x, y in seen["dots"]:
            left, top, right, bottom = a["box"]
            assert not (left + 1 < x < right - 1 and top + 1 < y < bottom - 1), (a, (x, y))


def test_labels_and_basemap_on_the_live_map(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    _require_tools()
    from playwright.sync_api import sync_playwright

    viewer_key = _keys(tmp_path, Role.VIEWER)[Role.VIEWER]
    server = live_server_factory(tmp_path, "--demo")
    server.start(timeout_s=120)
    towers = httpx.get(f"{server.url}/collections/towers/items", params={"limit": 1000}).json()
    zones = httpx.get(f"{server.url}/collections/zones/items", params={"limit": 1000}).json()
    names = {f["properties"]["name"] for f in towers["features"]}
    lons = [c[0] for f in towers["features"] for c in f["geometry"]["coordinates"][0]]
    lats = [c[1] for f in towers["features"] for c in f["geometry"]["coordinates"][0]]
    centre = ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    source = write_rd_gpkg(tmp_path / "city.gpkg", centre)
    assert main(["basemap", "import", str(source), "--data", str(tmp_path)]) == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{server.url}/map#key={viewer_key}")
            page.wait_for_function(LIVE, timeout=60_000)
            _settle(page)
            page.wait_for_function("() => window.__map.labels", timeout=10_000)
            near = page.evaluate(LABELS)
            order = page.evaluate(LAYER_ORDER)
            basemap_drawn = page.evaluate(BASEMAP_DRAWN)
            if os.environ.get("BLIGHTMAP_KEEP_SCREENSHOT"):
                page.screenshot(path=os.environ["BLIGHTMAP_KEEP_SCREENSHOT"])
            page.evaluate("() => window.__maplibre.setZoom(window.__maplibre.getZoom() - 1.5)")
            _settle(page)
            page.wait_for_timeout(200)  # one animation frame for the label layout
            far = page.evaluate(LABELS)
            page.locator("[data-labels='tower']").uncheck()
            page.wait_for_timeout(200)
            towers_off = page.evaluate(LABELS)
        finally:
            browser.close()

    assert not errors, errors
    assert all(u.startswith(server.url + "/") for u in requests), "nothing from outside"
    # zone ranks and tower names are on the map, each a real zone rank or tower name
    ranks = {f"Zone {f['properties']['rank']}" for f in zones["features"]}
    zone_texts = {lb["text"] for lb in near["labels"] if lb["kind"] == "zone"}
    tower_texts = {lb["text"] for lb in near["labels"] if lb["kind"] == "tower"}
    assert "Zone 1" in zone_texts and zone_texts <= ranks
    assert len(tower_texts) >= 15 and tower_texts <= names
    assert set(near["state"]["zones"]) == zone_texts
    _check_apart(near)
    # zoomed out, labels that no longer fit are hidden rather than overprinted
    far_towers = [lb for lb in far["labels"] if lb["kind"] == "tower"]
    assert far["state"]["hidden"] > near["state"]["hidden"]
    assert len(far_towers) < len(tower_texts)
    assert "Zone 1" in {lb["text"] for lb in far["labels"]}
    _check_apart(far)
    # the towers checkbox hides their labels too
    assert {lb["kind"] for lb in towers_off["labels"]} == {"zone"}
    # the basemap is drawn, under the field and the zones
    assert basemap_drawn > 0
    assert order.index("basemap-buildings") < order.index("blight") < order.index("zones-fill")
