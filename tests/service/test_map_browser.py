"""/map in headless Chromium against a real ``blightmap serve``: on the demo district the
layers load, a tower opens its panel and a posted observation changes the map without a
reload; the forecast day slider shows each day of a real forecast; a new district fills
in live (refused key, no field yet, a tower added, a server restart)."""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import shape

from service.app import open_store
from service.auth import Role, create_key
from service.collections import tower_feature
from service.settings import Settings
from tests.conftest import IN_CI, ROOT, LiveServer, make_tower

pytestmark = pytest.mark.live
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MAPLIBRE = ROOT / "node_modules" / "maplibre-gl" / "dist" / "maplibre-gl.mjs"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LIVE = "window.__map && window.__map.ready && window.__map.live && window.__map.markers > 0"

# A rendered tower with its stream colour and screen position, clear of the two panels.
PICK_TOWER = """() => {
  const map = window.__maplibre, canvas = map.getCanvas().getBoundingClientRect();
  const left = document.getElementById('panel').getBoundingClientRect();
  const free = (p) => p.x > left.right + 20 && p.x < canvas.width - 380 && p.y > 40
    && p.y < canvas.height - 60;
  const seen = new Map();
  for (const f of map.queryRenderedFeatures({layers: ['towers-dot']})) {
    const point = map.project(f.geometry.coordinates);
    if (free(point)) seen.set(f.properties.tower_id, {
      id: f.properties.tower_id, color: f.state.color, intensity: f.state.intensity,
      x: Math.round(point.x), y: Math.round(point.y), lonlat: f.geometry.coordinates});
  }
  return [...seen.values()].sort((a, b) => a.intensity - b.intensity)[0];
}"""
TOWER_STATE = """(id) => {
  const s = window.__maplibre.getFeatureState({source: 'towers', id});
  return {color: s.color, intensity: s.intensity};
}"""


def _settle(page: Any) -> None:
    """Wait until the map has rendered everything it was asked for (MapLibre's ``idle``)."""
    page.evaluate(
        "() => new Promise((done, fail) => { const map = window.__maplibre;"
        " setTimeout(() => fail(new Error('the map did not settle in 60 s')), 60000);"
        " map.once('idle', done); map.triggerRepaint(); })"
    )


def _require_tools() -> None:
    missing = [
        n
        for n, ok in (("chromium", CHROMIUM), ("maplibre-gl (npm ci)", MAPLIBRE.is_file()))
        if not ok
    ]
    if missing:
        reason = f"missing: {', '.join(missing)} (make install; apt-get install chromium)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def _keys(data_dir: Path, *roles: Role) -> dict[Role, str]:
    """One key per role in the store under ``data_dir`` (before the server opens it)."""
    store = open_store(Settings(data_dir=data_dir))
    try:
        return {role: create_key(store, role)[0] for role in roles}
    finally:
        store.close()


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def _pixel(png: bytes, x: int, y: int) -> tuple[int, int, int]:
    rgb: Any = Image.open(io.BytesIO(png)).convert("RGB").getpixel((x, y))
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


def _close(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 12) -> bool:
    return max(abs(p - q) for p, q in zip(a, b, strict=True)) <= tolerance


def _blight_the_tower(server: LiveServer, sensor_key: str, tower_id: str) -> int:
    """Post intensity 1.0 on every tier of the tower, now; returns the new data version."""
    tower = httpx.get(f"{server.url}/collections/towers/items/{tower_id}").json()
    centre = shape(tower["geometry"]).centroid
    lon, lat = round(centre.x, 8), round(centre.y, 8)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    features = [
        {
            "type": "Feature",
            "id": f"map-e2e-{tower_id}-{tier['level']}",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "observed_at": now,
                "intensity": 1.0,
                "source": "sensor",
                "tower_id": tower_id,
                "tier": tier["level"],
            },
        }
        for tier in tower["properties"]["tiers"]
    ]
    response = httpx.post(
        f"{server.url}/observations",
        json={"type": "FeatureCollection", "features": features},
        headers={"Authorization": f"Bearer {sensor_key}"},
    )
    assert response.status_code == 201, response.text
    version: int = response.json()["data_version"]
    return version


def test_map_follows_a_new_observation_live(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    _require_tools()
    from playwright.sync_api import sync_playwright

    keys = _keys(tmp_path, Role.VIEWER, Role.SENSOR)
    viewer_key, sensor_key = keys[Role.VIEWER], keys[Role.SENSOR]
    server = live_server_factory(tmp_path, "--demo")
    server.start(timeout_s=120)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 680}, bypass_csp=True)
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{server.url}/map#key={viewer_key}")
            page.wait_for_function(LIVE, timeout=60_000)
            _settle(page)
            before_state = page.evaluate("window.__map")
            tower = page.evaluate(PICK_TOWER)
            assert tower is not None, "a tower is drawn clear of the panels"

            page.mouse.click(tower["x"], tower["y"])
            page.wait_for_function(
                "(id) => document.getElementById('tower').dataset.tower === id"
                " && document.querySelectorAll('#tower-history tbody tr').length > 0",
                arg=tower["id"],
                timeout=30_000,
            )
            tiers_before = page.locator("#tower-tiers tbody tr").count()
            _settle(page)
            shot_before = page.screenshot()

            version = _blight_the_tower(server, sensor_key, tower["id"])
            page.wait_for_function(
                "([id, colour]) => window.__maplibre.getFeatureState("
                "{source: 'towers', id}).color !== colour",
                arg=[tower["id"], tower["color"]],
                timeout=30_000,
            )
            page.wait_for_function(
                "(v) => window.__map.dataVersion >= v && "
                "document.getElementById('status').textContent.startsWith("
                "`live · data version ${window.__map.dataVersion}`)",
                arg=version,
                timeout=30_000,
            )
            _settle(page)
            blight_tiles = page.evaluate("window.__maplibre.getSource('blight').tiles")
            after = page.evaluate(TOWER_STATE, tower["id"])
            after_state = page.evaluate("window.__map")
            top_tier = page.locator("#tower-tiers tbody tr").first.locator("td").nth(2)
            top_tier_text = top_tier.inner_text()
            shot_after = page.screenshot()
        finally:
            browser.close()

    assert not errors and not after_state["errors"], (errors, after_state["errors"])
    origin = server.url + "/"
    assert all(u.startswith(origin) for u in requests), "every request stays on the service"
    assert before_state["towers"] == before_state["markers"] > 10
    assert after_state["deltas"] > before_state["deltas"]
    # the raster layers were reloaded for the new data version
    fresh = f"v={after_state['dataVersion']}"
    assert blight_tiles == [
        f"{server.url}/tiles/blight/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?{fresh}"
    ]
    assert any("/tiles/blight/" in u and u.endswith(fresh) for u in requests)
    assert any(
        "/tiles/blight/" in u and u.endswith(f"v={before_state['dataVersion']}") for u in requests
    )
    assert after["intensity"] > tower["intensity"]
    served = httpx.get(f"{server.url}/collections/towers/items/{tower['id']}").json()
    assert tiers_before == len(served["properties"]["tiers"]) > 0
    assert float(top_tier_text) == pytest.approx(
        served["properties"]["tiers"][-1]["intensity"], abs=5e-4
    )
    assert float(top_tier_text) > 0.5, "the panel shows the tier values after the observation"
    # the tower's dot is painted in the stream's colour, before and after
    point = (tower["x"], tower["y"])
    assert _close(_pixel(shot_before, *point), _rgb(tower["color"]))
    assert _close(_pixel(shot_after, *point), _rgb(after["color"]))
    assert not _close(_pixel(shot_before, *point), _pixel(shot_after, *point), tolerance=40)
    if os.environ.get("BLIGHTMAP_KEEP_SCREENSHOT"):
        Path(os.environ["BLIGHTMAP_KEEP_SCREENSHOT"]).write_bytes(shot_after)


def _finished_forecast(server: LiveServer, planner_key: str, horizon_days: int) -> str:
    """Run a small forecast job to the end; its id."""
    headers = {"Authorization": f"Bearer {planner_key}"}
    body = {"horizon_days": horizon_days, "runs": 20, "seed": 3}
    job = httpx.post(f"{server.url}/forecasts", json=body, headers=headers, timeout=60).json()
    for _ in range(600):
        job = httpx.get(f"{server.url}/forecasts/{job['id']}", headers=headers, timeout=60).json()
        if job["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert job["status"] == "done", job
    job_id: str = job["id"]
    return job_id


def _changed_fraction(a: bytes, b: bytes) -> float:
    """The fraction of pixels whose colour moved by more than 24 levels in some channel."""
    first = np.asarray(Image.open(io.BytesIO(a)).convert("RGB"), dtype=np.int16)
    second = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), dtype=np.int16)
    return float(np.mean(np.abs(first - second).max(axis=2) > 24))


def test_forecast_day_slider_shows_each_day(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    _require_tools()
    from playwright.sync_api import sync_playwright

    keys = _keys(tmp_path, Role.VIEWER, Role.PLANNER)
    viewer_key, planner_key = keys[Role.VIEWER], keys[Role.PLANNER]
    server = live_server_factory(tmp_path, "--demo")
    server.start(timeout_s=120)
    forecast_id = _finished_forecast(server, planner_key, horizon_days=4)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 680}, bypass_csp=True)
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{server.url}/map#key={viewer_key}")
            page.wait_for_function(LIVE, timeout=60_000)
            assert page.is_visible("#forecast")
            page.uncheck("[data-layers=blight]")
            page.check("[data-layers=forecast]")
            _settle(page)
            day_one = page.screenshot()
            page.locator("#day").fill("4")
            page.wait_for_function(
                "window.__maplibre.getSource('forecast').tiles[0].endsWith('&day=4')"
            )
            _settle(page)
            day_four = page.screenshot()
            state = page.evaluate("window.__map")
            label = page.inner_text("#day-label")
        finally:
            browser.close()

    assert not errors and not state["errors"], (errors, state["errors"])
    assert state["forecastDays"] == [1, 2, 3, 4] and label == "day 4 of 4"
    assert state["rasters"]["forecast"]["forecastId"] == forecast_id
    forecast_tiles = [u for u in requests if "/tiles/forecast/WebMercatorQuad/" in u]
    assert any(u.endswith("&day=1") for u in forecast_tiles if ".png" in u)
    assert any(u.endswith("&day=4") for u in forecast_tiles if ".png" in u)
    assert _changed_fraction(day_one, day_four) > 0.02, "day 4 of the spread is drawn, not day 1"


def test_a_new_district_fills_in_live(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    """Towers but no field yet: the page says so, subscribes, and draws the field and its
    tiles as soon as enough observations arrive."""
    _require_tools()
    from playwright.sync_api import sync_playwright

    keys = _keys(tmp_path, Role.VIEWER, Role.ADMIN, Role.SENSOR)
    server = live_server_factory(tmp_path)
    server.start()
    towers = [make_tower(i) for i in range(6)]
    for tower in towers:
        response = httpx.post(
            f"{server.url}/collections/towers/items",
            json=tower_feature(tower),
            headers={"Authorization": f"Bearer {keys[Role.ADMIN]}"},
        )
        assert response.status_code == 201, response.text
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    observations = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f"fill-{k}",
                "geometry": {"type": "Point", "coordinates": list(tower.centroid_lonlat)},
                "properties": {
                    "observed_at": now,
                    "intensity": 0.15 * k,
                    "source": "sensor",
                    "tower_id": tower.id,
                    "tier": 1,
                },
            }
            for k, tower in enumerate(towers)
        ],
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 680}, bypass_csp=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/map#key=bm_not-a-key")
            page.wait_for_selector("#keyform", state="visible")
            refused = page.inner_text("#status")
            page.fill("#key", keys[Role.VIEWER])
            page.click("#keyform button")
            page.wait_for_function("window.__map && window.__map.ready && window.__map.live")
            before = page.evaluate("window.__map")
            status_before = page.inner_text("#status")
            response = httpx.post(
                f"{server.url}/observations",
                json=observations,
                headers={"Authorization": f"Bearer {keys[Role.SENSOR]}"},
            )
            assert response.status_code == 201, response.text
            page.wait_for_function(
                "window.__map.dataVersion !== null && window.__maplibre.getSource('blight')",
                timeout=30_000,
            )
            _settle(page)
            after = page.evaluate("window.__map")
            status_after = page.inner_text("#status")
            version = httpx.get(f"{server.url}/fields/blight").json()["data_version"]
            blight_tiles = page.evaluate("window.__maplibre.getSource('blight').tiles")
            far = make_tower(6, lon=towers[0].centroid_lonlat[0] + 0.004)  # ~270 m east
            response = httpx.post(
                f"{server.url}/collections/towers/items",
                json=tower_feature(far),
                headers={"Authorization": f"Bearer {keys[Role.ADMIN]}"},
            )
            assert response.status_code == 201, response.text
            page.wait_for_function(
                "window.__map.towers === 7 && window.__map.markers === 7"
                " && !window.__map.refreshing",
                timeout=30_000,
            )
            grown = page.evaluate("window.__map")
            server.stop()  # the page waits, reconnects and subscribes again
            page.wait_for_function("!window.__map.live")
            offline = page.inner_text("#status")
            server.start()
            page.wait_for_function(
                "window.__map.live && window.__map.markers === 7", timeout=60_000
            )
            back = page.evaluate("window.__map")
        finally:
            browser.close()

    assert re.fullmatch(r"offline · error: /\S+: 401 the API key is unknown or revoked", refused)
    assert not errors and not after["errors"], (errors, after["errors"])
    assert grown["view"]["lon"] > after["view"]["lon"], "the view follows the district"
    assert offline.startswith("offline (closed ")
    assert back["markers"] == 7 and back["messages"] > after["messages"] and not back["errors"]
    assert before["dataVersion"] is None and before["towers"] == 6 and before["markers"] == 0
    assert after["markers"] == 6, "the stream painted every tower once the field was there"
    assert before["rasters"]["blight"] == {"unavailable": 409}
    assert status_before.startswith("live · no field yet: ")
    assert after["dataVersion"] == version and status_after == f"live · data version {version}"
    assert blight_tiles[0].endswith(f".png?v={version}")
