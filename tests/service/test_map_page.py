"""``/map`` with the TestClient: the page, its assets and the vendored MapLibre GL JS."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.routers import webmap
from service.routers.preview import STATIC_DIR
from service.settings import Settings
from tests.conftest import IN_CI, ROOT

DIST = ROOT / "node_modules" / "maplibre-gl" / "dist"
SCHEMA = ROOT / "service" / "stream" / "ar-protocol.schema.json"
PAGE_FILES = [STATIC_DIR / n for n in ("map.html", *webmap.PAGE_FILES)]
# Namespace names are identifiers, not addresses anything is fetched from.
NAMESPACES = {"http://www.w3.org/2000/svg"}


@pytest.fixture(autouse=True)
def _maplibre_installed() -> None:
    if not (DIST / "maplibre-gl.mjs").is_file():
        reason = "node_modules/maplibre-gl is missing: run `npm ci` at the repository root"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


class _Refs(HTMLParser):
    """Every ``src`` and ``href`` of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [(tag, v) for k, v in attrs if k in ("src", "href") and v]


def test_page_is_served_as_html(client: TestClient) -> None:
    response = client.get("/map")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<div id="map"' in response.text and 'id="status"' in response.text


def test_every_asset_the_page_references_is_served_with_its_media_type(
    client: TestClient,
) -> None:
    refs = _Refs()
    refs.feed(client.get("/map").text)
    fetched = [(tag, ref) for tag, ref in refs.refs if not ref.startswith("data:")]
    assert {ref for _, ref in fetched} == {
        "/vendor/maplibre-gl/maplibre-gl.css",
        "/map/map.css",
        "/map/map.js",
    }
    expected = {"link": "text/css", "script": "text/javascript"}
    for tag, ref in fetched:
        response = client.get(ref)
        assert response.status_code == 200, ref
        assert response.headers["content-type"].split(";")[0] == expected[tag], ref


@pytest.mark.parametrize("name", ["maplibre-gl.mjs", "maplibre-gl-worker.mjs"])
def test_vendored_maplibre_is_the_npm_build_served_as_javascript(
    client: TestClient, name: str
) -> None:
    response = client.get(f"/vendor/maplibre-gl/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/javascript"
    assert response.content == (DIST / name).read_bytes()


def test_the_scripts_import_maplibre_and_each_other_from_the_service(
    client: TestClient,
) -> None:
    script = client.get("/map/map.js").text
    imports = re.findall(r'^import .* from "([^"]+)";', script, flags=re.MULTILINE)
    assert imports == [
        "/vendor/maplibre-gl/maplibre-gl.mjs",
        "/map/map-colours.js",
        "/map/map-tower.js",
        "/map/map-labels.js",
    ]
    for module in imports:
        response = client.get(module)
        assert response.status_code == 200, module
        assert response.headers["content-type"].split(";")[0] == "text/javascript"
    version = json.loads((DIST.parent / "package.json").read_text())["version"]
    package = json.loads((ROOT / "package.json").read_text())
    assert package["dependencies"]["maplibre-gl"] == version, "an exact version, as installed"


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_page_files_name_no_external_address(path: Path) -> None:
    text = path.read_text()
    absolute = set(re.findall(r"(?:https?:|wss?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*", text))
    assert absolute <= NAMESPACES, f"{path.name} refers outside the service: {absolute}"
    assert "cdn" not in text.lower() and "unpkg" not in text.lower()


def test_the_page_uses_the_streams_largest_range() -> None:
    schema = json.loads(SCHEMA.read_text())
    maximum = schema["$defs"]["range_m"]["maximum"]
    script = (STATIC_DIR / "map.js").read_text()
    found = re.search(r"const MAX_RANGE_M = (\d+);", script)
    assert found is not None and float(found.group(1)) == maximum


@pytest.mark.parametrize(
    "path",
    [
        "/map/nothing.js",
        "/map/map.html",
        "/vendor/maplibre-gl/package.json",
        "/vendor/maplibre-gl/maplibre-gl-dev.mjs",
        "/vendor/maplibre-gl/..%2Fpackage.json",
    ],
)
def test_only_the_listed_files_are_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_page_without_maplibre_is_a_503_problem(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", vendor_dir=tmp_path / "empty"))
    with TestClient(app) as client:
        response = client.get("/map")
        vendored = client.get("/vendor/maplibre-gl/maplibre-gl.mjs")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "make install" in response.json()["detail"]
    assert vendored.status_code == 404


def test_api_definition_lists_the_page_as_html(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    assert list(paths["/map"]["get"]["responses"]["200"]["content"]) == ["text/html"]
    assert not any(p.startswith(("/map/", "/vendor/")) for p in paths), "assets stay unlisted"
