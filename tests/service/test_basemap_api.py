"""The basemap through the service: `blightmap basemap import` (a GeoPackage in RD New)
into the data directory, served at /basemap.geojson (404 problem before)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.basemap_files import write_rd_gpkg
from tests.conftest import ORIGIN


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
