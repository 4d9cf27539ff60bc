"""The basemap through the service: `blightmap basemap import` (a GeoPackage in RD New)
into the data directory, served at /basemap.geojson (404 problem before)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from service.app import create_app
from service.auth import Role, create_key
from service.basemap import import_basemap
from service.cli import main
from service.demo import seed_demo
from service.settings import Settings
from tests.basemap_files import write_rd_gpkg
from tests.conftest import ORIGIN, LiveServer
from tests.service.conftest import auth


def test_imported_basemap_is_served(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with TestClient(create_app(Settings(data_dir=data))) as client:
        missing = client.get("/basemap.geojson")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert "blightmap basemap import" in missing.json()["detail"]

        source = write_rd_gpkg(tmp_path / "city.gpkg")
        assert main(["basemap", "import", str(source), "--data", str(data)]) == 0
        assert "25 buildings and 12 streets" in capsys.readouterr().err

        served = client.get("/basemap.geojson")
        assert served.status_code == 200
        assert served.headers["content-type"] == "application/geo+json"
        body = served.json()
    kinds = [f["properties"]["kind"] for f in body["features"]]
    assert kinds.count("building") == 25 and kinds.count("street") == 12
    ring = body["features"][12]["geometry"]["coordinates"][0]
    lon = sum(p[0] for p in ring[:-1]) / 4
    lat = sum(p[1] for p in ring[:-1]) / 4
    assert Geod(ellps="WGS84").inv(lon, lat, *ORIGIN)[2] < 0.05


def test_a_bad_basemap_file_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "city.geojson"
    source.write_text('{"type": "FeatureCollection", "features": []}')
    assert main(["basemap", "import", str(source), "--data", str(tmp_path / "d")]) == 2
    assert "no building" in capsys.readouterr().err
    assert not (tmp_path / "d" / "basemap.geojson").exists()


def _pdf_objects(client: TestClient, headers: dict[str, str]) -> int:
    """Run a one-page PDF export of the blight layer; the number of objects on the page."""
    request = {
        "zooms": [15, 15],
        "layers": ["blight"],
        "formats": ["pdf"],
        "print": {"paper": "A4", "orientation": "portrait", "dpi": 150, "title": "Basemap"},
    }
    job = client.post("/exports", json=request, headers=headers).json()
    deadline = time.monotonic() + 120
    while (body := client.get(f"/exports/{job['id']}", headers=headers).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["status"] == "done", body
    pdf = client.get(body["files"][0]["href"], headers=headers).content
    return len(list(pdfium.PdfDocument(pdf)[0].get_objects()))


def test_exports_print_the_imported_basemap(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(create_app(Settings(data_dir=data))) as client:
        state = client.app.state.blightmap  # type: ignore[attr-defined]
        seed_demo(state.store, seed=7, end=datetime(2026, 11, 1, 12, tzinfo=UTC))
        headers = auth(create_key(state.store, Role.PLANNER)[0])
        before = _pdf_objects(client, headers)
        west, south, east, north = state.towers.current().district.bbox_wgs84
        centre = ((west + east) / 2, (south + north) / 2)
        import_basemap(data, write_rd_gpkg(tmp_path / "city.gpkg", centre))
        after = _pdf_objects(client, headers)
    # 25 building outlines and 12 streets (casing and centre line) under the field
    assert after - before >= 25 + 2 * 12


@pytest.mark.live
def test_serve_imports_a_basemap_given_on_the_command_line(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    source = write_rd_gpkg(tmp_path / "city.gpkg")
    server = live_server_factory(tmp_path / "data", "--basemap", str(source))
    server.start()
    served = httpx.get(f"{server.url}/basemap.geojson", timeout=30)
    assert served.status_code == 200
    kinds = [f["properties"]["kind"] for f in served.json()["features"]]
    assert kinds.count("building") == 25 and kinds.count("street") == 12
