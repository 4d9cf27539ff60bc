"""Every file the service serves answers ``HEAD``, ``Range``, ``If-Range`` and
``If-None-Match`` (issue 14, finding 1): the field's COG, a forecast's probability COG,
an export's files and the glTF assets; and GDAL's ``/vsicurl/`` reads them from a live
server, as QGIS would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile

from service.app import create_app, open_store
from service.auth import Role, create_key
from service.demo import seed_demo
from service.settings import Settings
from service.state import AppState
from tests.conftest import LiveServer
from tests.service.conftest import auth
from tests.service.forecast_jobs import END, SMALL, run_job, small_settings

EXPORT = {"zooms": [15, 15], "layers": ["blight"], "formats": ["cog"]}
ASSET = bytes(range(256)) * 64  # 16 KiB of known bytes


def _wait_export(client: TestClient, job_id: str, headers: dict[str, str]) -> Any:
    deadline = time.monotonic() + 120
    while True:
        body = client.get(f"/exports/{job_id}", headers=headers).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"export still {body['status']}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, list[str]]]:
    """A demo app with a finished forecast, a finished export and one asset; the URLs
    of the four kinds of file."""
    settings = small_settings(tmp_path_factory.mktemp("ranges") / "data")
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        state: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
        seed_demo(state.store, seed=7, end=END)
        planner = auth(create_key(state.store, Role.PLANNER)[0])
        forecast = run_job(client, planner, "/forecasts", **SMALL)
        r = client.post("/exports", json=EXPORT, headers=planner)
        assert r.status_code == 202, r.text
        export = _wait_export(client, r.json()["id"], planner)
        assert export["status"] == "done", export
        asset = state.assets.put(ASSET)
        client.headers.update(planner)  # a job and its files are seen by its owner only
        yield client, [
            "/fields/blight.tif",
            f"/forecasts/{forecast['id']}/probability.tif",
            f"/exports/{export['id']}/files/field.tif",
            asset,
        ]


KINDS = ["field", "forecast", "export", "asset"]


@pytest.mark.parametrize("kind", range(4), ids=KINDS)
def test_head_gives_the_headers_of_get_and_no_body(
    served: tuple[TestClient, list[str]], kind: int
) -> None:
    client, urls = served
    whole = client.get(urls[kind])
    head = client.head(urls[kind])
    assert whole.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(whole.content)) != "0"
    assert head.headers["etag"] == whole.headers["etag"]
    assert head.headers["content-type"] == whole.headers["content-type"]
    assert head.headers["accept-ranges"] == whole.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize("kind", range(4), ids=KINDS)
def test_ranges_give_206_with_exactly_those_bytes(
    served: tuple[TestClient, list[str]], kind: int
) -> None:
    client, urls = served
    whole = client.get(urls[kind]).content
    size = len(whole)
    first = client.get(urls[kind], headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == whole[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    tail = client.get(urls[kind], headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == whole[-16:]
    assert tail.headers["content-range"] == f"bytes {size - 16}-{size - 1}/{size}"
    head = client.head(urls[kind], headers={"Range": "bytes=10-19"})
    assert head.status_code == 206 and head.headers["content-length"] == "10"
    multi = client.get(urls[kind], headers={"Range": "bytes=0-3, 100-103"})
    assert multi.status_code == 206
    assert multi.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert whole[:4] in multi.content and whole[100:104] in multi.content


@pytest.mark.parametrize("kind", range(4), ids=KINDS)
def test_validators_304_if_range_and_416(served: tuple[TestClient, list[str]], kind: int) -> None:
    client, urls = served
    whole = client.get(urls[kind])
    etag, size = whole.headers["etag"], len(whole.content)
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = client.get(urls[kind], headers={"If-None-Match": header})
        assert again.status_code == 304 and again.content == b"", header
        assert again.headers["etag"] == etag
    assert client.head(urls[kind], headers={"If-None-Match": etag}).status_code == 304
    assert client.get(urls[kind], headers={"If-None-Match": '"other"'}).status_code == 200
    same = client.get(urls[kind], headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == whole.content[:10]
    changed = client.get(urls[kind], headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert changed.status_code == 200 and changed.content == whole.content
    past = client.get(urls[kind], headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"


def test_unknown_files_are_still_404_on_head(served: tuple[TestClient, list[str]]) -> None:
    client, _ = served
    assert client.head("/assets/" + "0" * 64 + ".glb").status_code == 404
    assert client.head("/forecasts/nope/probability.tif").status_code == 404


def test_the_field_cog_is_rebuilt_only_for_a_new_data_version(
    served: tuple[TestClient, list[str]],
) -> None:
    client, urls = served
    spool = client.app.state.file_spool  # type: ignore[attr-defined]
    client.get(urls[0])
    files = sorted((spool.directory / "fields").iterdir())
    mtime = files[0].stat().st_mtime_ns
    for _ in range(3):
        client.get(urls[0], headers={"Range": "bytes=0-1023"})
    assert sorted((spool.directory / "fields").iterdir()) == files
    assert files[0].stat().st_mtime_ns == mtime


def _vsicurl(url: str, key: str) -> tuple[Any, np.ndarray]:
    with (
        rasterio.Env(
            GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
            CPL_VSIL_CURL_USE_HEAD="YES",
            GDAL_HTTP_HEADERS=f"Authorization: Bearer {key}",  # jobs' files: owner only
        ),
        rasterio.open(f"/vsicurl/{url}") as ds,
    ):
        return ds.profile, ds.read()


@pytest.mark.live
def test_gdal_vsicurl_reads_every_cog_from_a_live_server(
    tmp_path: Path, live_server_factory: type[LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GDAL refuses a server without ranges ("Range downloading not supported")."""
    import httpx

    data_dir = tmp_path / "data"
    store = open_store(Settings(data_dir=data_dir))
    planner = create_key(store, Role.PLANNER)[0]
    store.close()
    monkeypatch.setenv("BLIGHTMAP_FORECAST_CALIBRATION_SIMULATIONS", "40")
    monkeypatch.setenv("BLIGHTMAP_FORECAST_SKILL_RUNS", "10")
    monkeypatch.setenv("BLIGHTMAP_FORECAST_SKILL_HORIZONS", "[1, 3]")
    server = live_server_factory(data_dir, "--demo")
    server.start(timeout_s=120)
    headers = auth(planner)
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        job = http.post("/forecasts", json=SMALL).json()
        export = http.post("/exports", json=EXPORT).json()
        deadline = time.monotonic() + 180
        for path in (f"/forecasts/{job['id']}", f"/exports/{export['id']}"):
            while (body := http.get(path).json())["status"] not in ("done", "failed"):
                assert time.monotonic() < deadline, body["status"]
                time.sleep(0.2)
            assert body["status"] == "done", body
        urls = [
            "/fields/blight.tif",
            f"/forecasts/{job['id']}/probability.tif",
            f"/exports/{export['id']}/files/field.tif",
        ]
        for path in urls:
            whole = http.get(path)
            assert whole.status_code == 200
            profile, bands = _vsicurl(server.url + path, planner)
            with MemoryFile(whole.content) as mem, mem.open() as ds:
                assert profile["crs"] == ds.crs and profile["transform"] == ds.transform
                np.testing.assert_array_equal(bands, ds.read())
            assert profile["count"] >= 2 and profile["crs"].to_epsg() == 32631
