"""``/docs`` and ``/redoc`` offline (issue 14, finding 3): Swagger UI and Redoc come from
npm through ``/vendor``, every script and style sheet the pages name is local and loads,
and in headless Chromium, with every request off the service refused, both pages render
the API."""

from __future__ import annotations

import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.vendor import manifest
from tests.conftest import IN_CI, ROOT, LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TYPES = {"script": "text/javascript", "link": "text/css", "icon": "image/png"}


class _Refs(HTMLParser):
    """The URLs of a page's scripts, style sheets and icons."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.refs.append(("script", a["src"] or ""))
        elif tag == "link" and a.get("href"):
            self.refs.append(("icon" if a.get("rel") == "icon" else "link", a["href"] or ""))


def _refs(html: str) -> list[tuple[str, str]]:
    parser = _Refs()
    parser.feed(html)
    return parser.refs


@pytest.mark.parametrize(("page", "package"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_every_script_and_style_is_local_and_loads(
    client: TestClient, page: str, package: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    refs = _refs(response.text)
    assert any(package in ref for _, ref in refs), "the library itself is among them"
    for kind, ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), f"{ref} is not on the service"
        loaded = client.get(ref)
        assert loaded.status_code == 200, ref
        assert loaded.headers["content-type"].split(";")[0] == TYPES[kind], ref
        assert len(loaded.content) > 100, ref
    assert "cdn" not in response.text.lower() and "http" not in response.text.lower()
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_the_vendored_files_are_the_npm_builds(client: TestClient) -> None:
    for package in ("swagger-ui-dist", "redoc"):
        spec = manifest()[package]
        for name in spec.files:
            served = client.get(f"/vendor/{package}/{name}")
            assert served.status_code == 200, name
            assert served.content == (ROOT / "node_modules" / spec.relative(name)).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/swagger-ui-dist/package.json",
        "/vendor/swagger-ui-dist/index.html",
        "/vendor/redoc/redoc.lib.js",
        "/vendor/redoc/../package.json",
        "/vendor/left-pad/index.js",
    ],
)
def test_only_listed_files_are_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_vendored_files_answer_ranges_and_etags(client: TestClient) -> None:
    url = "/vendor/redoc/redoc.standalone.js"
    whole = client.get(url)
    part = client.get(url, headers={"Range": "bytes=0-63"})
    assert part.status_code == 206 and part.content == whole.content[:64]
    assert client.head(url).headers["content-length"] == str(len(whole.content))
    again = client.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304


def test_pages_without_their_library_are_503_problems(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", vendor_dir=tmp_path / "empty"))
    with TestClient(app) as client:
        for page in ("/docs", "/redoc", "/map", "/ar-preview"):
            response = client.get(page)
            assert response.status_code == 503, page
            assert response.headers["content-type"] == "application/problem+json"
            assert "npm ci" in response.json()["detail"]


def _browse(page: Any, url: str, ready: str) -> tuple[list[str], list[str]]:
    """Open ``url`` with every request off its host refused; what was refused, and the
    page's errors and console errors except the Redocly logo the CSP blocks."""
    origin = url.split("/", 3)[:3]
    refused: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.split("/", 3)[:3] == origin or r.request.url.startswith("data:"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    # polled with evaluate (CDP, outside the page's CSP): wait_for_function evaluates a
    # string inside the page, which the pages' CSP (no 'unsafe-eval') forbids
    deadline = time.monotonic() + 60
    while not page.evaluate(f"() => Boolean({ready})"):
        assert time.monotonic() < deadline, f"{url} did not get ready: {ready}"
        page.wait_for_timeout(200)
    return refused, [e for e in errors if "redoc.ly/redoc/logo-mini.svg" not in e]


@pytest.mark.live
def test_docs_and_redoc_render_offline_in_chromium(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    if not CHROMIUM:
        if IN_CI:
            pytest.fail("chromium is missing (apt-get install chromium)")
        pytest.skip("chromium is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    server = live_server_factory(tmp_path / "data")
    server.start()
    paths = len(__import__("httpx").get(server.url + "/openapi.json").json()["paths"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            refused, errors = _browse(
                page,
                f"{server.url}/docs",
                "window.__docs && window.__docs.ready"
                " && document.querySelectorAll('.opblock').length > 0",
            )
            operations = page.locator(".opblock").count()
            title = page.locator(".info .title").inner_text()
            assert refused == [] and errors == []
            assert operations >= paths and title.startswith("blightmap")

            page = browser.new_page()
            refused, errors = _browse(
                page,
                f"{server.url}/redoc",
                "document.querySelector('.api-info h1') !== null"
                " && document.querySelectorAll('[data-section-id^=\"operation/\"]').length > 0",
            )
            sections = page.locator('[data-section-id^="operation/"]').count()
            assert refused == [] and errors == []
            assert sections >= paths
            assert page.locator(".api-info h1").inner_text().startswith("blightmap")
        finally:
            browser.close()
