"""/ar-preview in headless Chromium: the page subscribes and renders every overlay's GLB."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from service.app import open_store
from service.auth import Role, create_key
from service.settings import Settings
from tests.conftest import IN_CI, LiveServer

pytestmark = pytest.mark.live
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
THREE = Path(__file__).resolve().parents[2] / "node_modules" / "three" / "build" / "three.module.js"


def _require_tools() -> None:
    missing = [
        n for n, ok in (("chromium", CHROMIUM), ("three.js (npm ci)", THREE.is_file())) if not ok
    ]
    if missing:
        reason = f"missing: {', '.join(missing)} (make install; apt-get install chromium)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def test_preview_renders_the_overlays(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    _require_tools()
    from playwright.sync_api import sync_playwright

    store = open_store(Settings(data_dir=tmp_path))
    key, _ = create_key(store, Role.VIEWER)
    store.close()
    server = live_server_factory(tmp_path, "--demo")
    server.start(timeout_s=120)
    lon, lat = 5.1214, 52.0907
    url = f"{server.url}/ar-preview?lon={lon}&lat={lat}&range=300#key={key}"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 960, "height": 640}, bypass_csp=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("window.__preview && window.__preview.ready", timeout=60_000)
            state = page.evaluate("window.__preview")
            shot = page.screenshot()
        finally:
            browser.close()
    assert not errors and not state["errors"], (errors, state["errors"])
    assert state["loaded"] == state["overlays"] >= 10
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, "the canvas shows more than a background and a grid"
    if os.environ.get("BLIGHTMAP_KEEP_SCREENSHOT"):
        Path(os.environ["BLIGHTMAP_KEEP_SCREENSHOT"]).write_bytes(shot)
