"""CORS on ``/assets`` (issue 13 finding 8): a viewer on another origin can load the GLBs.

Only the public files answer cross-origin requests (``/assets``, ``/schemas``); the
allowed origins come from ``Settings.cors_origins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.state import AppState

GLB = b"glTF" + bytes(range(256)) * 8
VIEWER = "https://viewer.example.org"


def _client(tmp_path: Path, origins: tuple[str, ...]) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(data_dir=tmp_path / "data", cors_origins=origins)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        state: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
        yield client, state.assets.put(GLB)


@pytest.fixture
def listed(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    yield from _client(tmp_path, (VIEWER,))


def test_a_listed_origin_gets_the_asset_with_cors_headers(listed: tuple[TestClient, str]) -> None:
    client, url = listed
    r = client.get(url, headers={"Origin": VIEWER, "Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == b"glTF"
    assert r.headers["access-control-allow-origin"] == VIEWER
    assert "origin" in r.headers["vary"].lower()
    exposed = r.headers["access-control-expose-headers"].lower()
    assert {"etag", "content-range"} <= {h.strip() for h in exposed.split(",")}


def test_preflight_of_a_range_request_is_allowed(listed: tuple[TestClient, str]) -> None:
    client, url = listed
    r = client.options(
        url,
        headers={
            "Origin": VIEWER,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == VIEWER
    assert "GET" in r.headers["access-control-allow-methods"]
    assert "range" in r.headers["access-control-allow-headers"].lower()


def test_an_unlisted_origin_and_the_rest_of_the_api_get_no_cors(
    listed: tuple[TestClient, str],
) -> None:
    client, url = listed
    r = client.get(url, headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and r.content == GLB  # served; the browser hides it
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/healthz", headers={"Origin": VIEWER})
    assert "access-control-allow-origin" not in r.headers


def test_any_origin_by_default_and_none_when_emptied(tmp_path: Path) -> None:
    for origins, expected in (((), None), (("*",), "*")):
        for client, url in _client(tmp_path / str(len(origins)), origins):
            r = client.head(url, headers={"Origin": VIEWER})
            assert r.status_code == 200
            assert r.headers.get("access-control-allow-origin") == expected
    assert Settings(data_dir=tmp_path).cors_origins == ("*",)
