"""The pages work under their Content-Security-Policy in Chromium (not bypassed): the
map goes live and draws, the AR preview loads its overlays, and the browser reports
no CSP violation. (The other browser tests bypass CSP: Playwright's waiting evaluates
strings, which the policy rightly forbids.)"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from service.app import open_store
from service.auth import Role, create_key
from service.settings import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEEDED = {
    "chromium": CHROMIUM is not None,
    "maplibre-gl (npm ci)": (ROOT / "node_modules/maplibre-gl/dist/maplibre-gl.mjs").is_file(),
    "three (npm ci)": (ROOT / "node_modules/three/build/three.module.js").is_file(),
}
ALL_LOADED = re.compile(r"overlays ([1-9]\d*)/\1,")
ARGS = ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def wait_for_text(page: object, selector: str, wanted: str, timeout_s: float = 90.0) -> str:
    deadline, text = time.monotonic() + timeout_s, ""
    while time.monotonic() < deadline:
        text = page.locator(selector).inner_text()  # type: ignore[attr-defined]
        if wanted in text:
            return text
        time.sleep(0.25)
    raise AssertionError(f"{selector} never said {wanted!r}: {text!r}")


def test_pages_work_under_their_policy(tmp_path: Path) -> None:
    missing = [name for name, ok in NEEDED.items() if not ok]
    if missing:
        pytest.skip(f"missing: {', '.join(missing)}")
    from playwright.sync_api import sync_playwright

    store = open_store(Settings(data_dir=tmp_path))
    key, _ = create_key(store, Role.VIEWER)
    store.close()
    server = LiveServer(tmp_path, "--demo")
    server.start(timeout_s=180)
    violations: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 680})
                page.on(
                    "console",
                    lambda m: violations.append(m.text) if "Content Security" in m.text else None,
                )
                response = page.goto(f"{server.url}/map#key={key}")
                assert (
                    response is not None
                    and "script-src 'self'" in (response.headers["content-security-policy"])
                )
                assert "data version" in wait_for_text(page, "#status", "live")
                preview = browser.new_page(viewport={"width": 960, "height": 640})
                preview.on(
                    "console",
                    lambda m: violations.append(m.text) if "Content Security" in m.text else None,
                )
                preview.goto(f"{server.url}/ar-preview?lon=5.1214&lat=52.0907&range=300#key={key}")
                deadline = time.monotonic() + 90
                while not ALL_LOADED.search(preview.locator("#status").inner_text()):
                    assert time.monotonic() < deadline, preview.locator("#status").inner_text()
                    time.sleep(0.25)
            finally:
                browser.close()
    finally:
        server.stop()
    assert violations == []
