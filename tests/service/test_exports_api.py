"""Export jobs over HTTP: 202 + Location, progress, files with their media types (each
decoded), role refusals, every bad input as a problem naming its field, dismissal."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
import rasterio
from fastapi.testclient import TestClient
from pypdf import PdfReader
from rasterio.io import MemoryFile

from service.app import create_app
from service.auth import Role, create_key
from service.demo import seed_demo
from service.routers.exports import MANAGER_KEY
from service.settings import Settings
from service.state import AppState
from tests.conftest import LiveServer
from tests.service.conftest import auth

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
SMALL: dict[str, Any] = {
    "zooms": [15, 16],
    "layers": ["blight", "uncertainty", "towers", "zones"],
    "formats": ["mbtiles", "pmtiles", "cog", "gpkg", "pdf"],
    "print": {"paper": "A4", "orientation": "portrait", "dpi": 150, "title": "Test sheet"},
}
FAR_AWAY = [13.3, 52.4, 13.5, 52.6]  # Berlin


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("exports") / "data",
        export_max_tiles=5000,
        public_url="http://testserver",
    )
    with TestClient(create_app(settings), base_url="http://testserver") as c:
        st: AppState = c.app.state.blightmap  # type: ignore[attr-defined]
        seed_demo(st.store, seed=7, end=END)
        yield c


@pytest.fixture(scope="module")
def keys(client: TestClient) -> dict[str, dict[str, str]]:
    st: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
    return {role.value: auth(create_key(st.store, role)[0]) for role in Role}


def _wait(client: TestClient, job_id: str, headers: dict[str, str], timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    seen = []
    while True:
        body = client.get(f"/exports/{job_id}", headers=headers).json()
        seen.append(body["progress"])
        if body["status"] in ("done", "failed", "cancelled"):
            assert seen == sorted(seen)  # progress never goes back
            return body
        assert time.monotonic() < deadline, f"job still {body['status']}"
        time.sleep(0.05)


def test_a_bundle_runs_to_done_with_every_file(
    client: TestClient, keys: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    r = client.post("/exports", json=SMALL, headers=keys["planner"])
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"http://testserver/exports/{job['id']}"
    assert job["status"] in ("queued", "running", "done") and 0 <= job["progress"] <= 100
    assert job["request"]["print"]["paper"] == "A4"
    body = _wait(client, job["id"], keys["planner"])
    assert body["status"] == "done" and body["progress"] == 100, body
    files = {f["name"]: f for f in body["files"]}
    assert set(files) == {
        "blight.mbtiles",
        "blight.pmtiles",
        "uncertainty.mbtiles",
        "uncertainty.pmtiles",
        "vector.mbtiles",
        "vector.pmtiles",
        "field.tif",
        "blightmap.gpkg",
        "map.pdf",
    }
    got: dict[str, bytes] = {}
    for name, f in files.items():
        assert f["href"] == f"http://testserver/exports/{job['id']}/files/{name}"
        res = client.get(f["href"], headers=keys["planner"])
        assert res.status_code == 200
        assert res.headers["content-type"].startswith(f["type"].split(";")[0])
        assert len(res.content) == f["bytes"] > 0
        got[name] = res.content
    assert files["map.pdf"]["type"] == "application/pdf"
    assert files["blight.mbtiles"]["type"] == "application/vnd.mapbox-mbtiles"
    assert files["blightmap.gpkg"]["type"] == "application/geopackage+sqlite3"
    assert files["field.tif"]["type"].startswith("image/tiff; application=geotiff")
    page = PdfReader(io.BytesIO(got["map.pdf"])).pages[0]
    assert (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) == (
        595.28,
        841.89,
    )
    with MemoryFile(got["field.tif"]) as mem, mem.open() as src:
        assert src.crs.to_epsg() == 32631 and src.count == 2
    (tmp_path / "b.mbtiles").write_bytes(got["blight.mbtiles"])
    with rasterio.open(tmp_path / "b.mbtiles") as src:
        assert src.driver == "MBTiles" and src.crs.to_epsg() == 3857
    with closing(sqlite3.connect(tmp_path / "b.mbtiles")) as db:
        zooms = {z for (z,) in db.execute("SELECT DISTINCT zoom_level FROM tiles")}
    assert zooms == {15, 16}
    (tmp_path / "x.gpkg").write_bytes(got["blightmap.gpkg"])
    assert {n for n, _ in pyogrio.list_layers(tmp_path / "x.gpkg")} == {"towers", "zones"}


def test_roles(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    request = {"formats": ["cog"], "layers": ["blight"]}
    assert client.post("/exports", json=request).status_code == 401
    for role in ("viewer", "sensor"):
        r = client.post("/exports", json=request, headers=keys[role])
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
    r = client.post("/exports", json=request, headers=keys["admin"])
    assert r.status_code == 202
    job_id = r.json()["id"]
    assert client.delete(f"/exports/{job_id}", headers=keys["viewer"]).status_code == 403
    assert _wait(client, job_id, keys["admin"])["status"] in ("done", "cancelled")


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"bbox": [5.2, 52.0, 5.1, 52.1]}, 422, "bbox"),
        ({"bbox": [5.1, 52.1, 5.2, 52.0]}, 422, "bbox"),
        ({"bbox": [5.1, 95.0, 5.2, 96.0]}, 422, "bbox"),
        ({"bbox": [5.1, 52.0, 5.2]}, 422, "bbox"),
        ({"bbox": FAR_AWAY}, 422, "bbox"),
        ({"zooms": [16, 15]}, 422, "zooms"),
        ({"zooms": [15, 23]}, 422, "zooms.1"),
        ({"zooms": [5, 15]}, 422, "zooms.0"),
        ({"zooms": [15]}, 422, "zooms"),
        ({"zooms": [14, 20]}, 422, "zooms"),  # over export_max_tiles (5000 here)
        ({"layers": ["roads"]}, 422, "layers.0"),
        ({"layers": []}, 422, "layers"),
        ({"layers": ["towers", "towers"]}, 422, "layers"),
        ({"formats": ["svg"]}, 422, "formats.0"),
        ({"formats": []}, 422, "formats"),
        ({"print": {"paper": "A5"}}, 422, "print.paper"),
        ({"print": {"orientation": "upside-down"}}, 422, "print.orientation"),
        ({"print": {"dpi": 149}}, 422, "print.dpi"),
        ({"print": {"dpi": 601}}, 422, "print.dpi"),
        ({"print": {"dpi": "300"}}, 422, "print.dpi"),
        ({"print": {"title": ""}}, 422, "print.title"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    change: dict[str, Any],
    status: int,
    field: str,
) -> None:
    request = {**SMALL, "formats": ["mbtiles", "pdf"], **change}
    r = client.post("/exports", json=request, headers=keys["planner"])
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == status
    assert field in [e["field"] for e in problem["errors"]], problem


def test_malformed_json_is_400(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    headers = {**keys["planner"], "Content-Type": "application/json"}
    r = client.post("/exports", content=b'{"formats": [', headers=headers)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


def test_dismissing_a_running_job_stops_it_and_removes_its_files(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    big = {
        "zooms": [17, 19],
        "layers": ["blight", "uncertainty"],
        "formats": ["mbtiles", "pdf"],
        "print": {"paper": "A2", "dpi": 600},
    }
    r = client.post("/exports", json=big, headers=keys["planner"])
    assert r.status_code == 202
    job_id = r.json()["id"]
    manager = getattr(client.app.state, MANAGER_KEY)  # type: ignore[attr-defined]
    job = manager.get(job_id)
    r = client.delete(f"/exports/{job_id}", headers=keys["planner"])
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert job.future is not None
    done, _ = futures.wait([job.future], timeout=120)  # the worker has stopped
    assert done
    assert not job.directory.exists()
    # the job is gone (OGC API - Processes dismiss): 404 for it, its files and a second DELETE
    assert client.get(f"/exports/{job_id}", headers=keys["planner"]).status_code == 404
    assert (
        client.get(f"/exports/{job_id}/files/map.pdf", headers=keys["planner"]).status_code == 404
    )
    assert client.delete(f"/exports/{job_id}", headers=keys["planner"]).status_code == 404


def test_unknown_jobs_and_files_are_404(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    assert client.get("/exports/nope").status_code == 404
    assert client.delete("/exports/nope", headers=keys["planner"]).status_code == 404
    r = client.post("/exports", json={"formats": ["cog"]}, headers=keys["planner"])
    job_id = r.json()["id"]
    planner = keys["planner"]
    assert _wait(client, job_id, planner)["status"] == "done"
    assert client.get(f"/exports/{job_id}/files/field.tif", headers=planner).status_code == 200
    files = f"/exports/{job_id}/files"
    assert client.get(f"{files}/../blightmap.gpkg", headers=planner).status_code == 404
    assert client.get(f"{files}/map.pdf", headers=planner).status_code == 404
    assert client.get(f"{files}/field.tif").status_code == 404  # not the caller's job


def test_no_field_yet_is_409(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "d"))) as c:
        st: AppState = c.app.state.blightmap  # type: ignore[attr-defined]
        key = create_key(st.store, Role.PLANNER)[0]
        r = c.post("/exports", json={"formats": ["pdf"]}, headers=auth(key))
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"


def test_files_of_an_earlier_run_are_removed_on_start(tmp_path: Path) -> None:
    exports = tmp_path / "d" / "exports"
    stale, other = exports / ("ab" * 16), exports / "keep-me"
    stale.mkdir(parents=True)
    other.mkdir()
    (stale / "map.pdf").write_bytes(b"%PDF-")
    with TestClient(create_app(Settings(data_dir=tmp_path / "d"))):
        assert not stale.exists()
        assert other.is_dir()


@pytest.mark.live
def test_live_server_exports_and_shuts_down_mid_job(
    live_server_factory: type[LiveServer], tmp_path: Path
) -> None:
    server = live_server_factory(tmp_path / "live", "--demo")
    server.start(timeout_s=120)
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "keys",
            "create",
            "--role",
            "planner",
            "--data",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    planner = auth(created.stdout.strip().splitlines()[-1])
    request = {
        "zooms": [15, 16],
        "formats": ["pdf", "cog", "mbtiles"],
        "print": {"paper": "A4", "dpi": 150},
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/exports", json=request, headers=planner)
        assert r.status_code == 202, r.text
        job_url = r.headers["location"]
        deadline = time.monotonic() + 120
        while (body := http.get(job_url, headers=planner).json())["status"] in (
            "queued",
            "running",
        ):
            assert http.get("/healthz").status_code == 200  # the service answers meanwhile
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert body["status"] == "done", body
        pdf_url = next(f["href"] for f in body["files"] if f["format"] == "pdf")
        pdf = http.get(pdf_url, headers=planner)
        assert pdf.headers["content-type"] == "application/pdf"
        page = PdfReader(io.BytesIO(pdf.content)).pages[0]
        assert float(page.mediabox.width) == pytest.approx(841.89, abs=0.01)  # landscape
        big = {"zooms": [17, 19], "formats": ["mbtiles", "pdf"], "print": {"dpi": 600}}
        assert http.post("/exports", json=big, headers=planner).status_code == 202
    server.stop()  # SIGTERM while the big job runs: the workers stop, the process exits
    assert server.proc is not None and server.proc.stderr is not None
    # uvicorn re-raises SIGTERM after a graceful shutdown (-15); a hang would be killed (-9)
    assert server.proc.returncode in (0, -15)
    assert "Application shutdown complete" in server.proc.stderr.read().decode()
