"""One geometry type per collection, the same on write and read, and real temporal
extents (issue 14, finding 6): what GIS tools (GDAL's OAPIF driver, ogr2ogr) rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from fastapi.testclient import TestClient

from geo.layer import DEFAULT_FOOTPRINT_RADIUS_M
from tests.conftest import LiveServer
from tests.service.conftest import auth, collection, observation
from tests.service.test_towers_api import tower_feature
from tests.service.test_treatments_api import treatment


def _point_tower(tower_id: str, lon: float = 5.1230, lat: float = 52.0912) -> dict[str, Any]:
    feature = tower_feature(tower_id)
    feature["geometry"] = {"type": "Point", "coordinates": [lon, lat]}
    return feature


def _geometry_types(client: TestClient, collection_id: str) -> set[str]:
    body = client.get(f"/collections/{collection_id}/items", params={"limit": 1000}).json()
    return {f["geometry"]["type"] for f in body["features"]}


@pytest.mark.usefixtures("seeded")
def test_a_point_tower_is_served_as_a_polygon(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/collections/towers/items", json=_point_tower("PT-1"), headers=auth(keys["admin"])
    )
    assert r.status_code == 201, r.text
    answered = r.json()["geometry"]
    assert answered["type"] == "Polygon"
    assert client.get("/collections/towers/items/PT-1").json()["geometry"] == answered
    meta = client.get("/collections/towers").json()
    assert meta["geometryType"] == "Polygon"
    assert _geometry_types(client, "towers") == {"Polygon"}
    # the circle is centred on the posted point, DEFAULT_FOOTPRINT_RADIUS_M wide on each side
    lons = [c[0] for c in answered["coordinates"][0]]
    lats = [c[1] for c in answered["coordinates"][0]]
    assert (min(lons) + max(lons)) / 2 == pytest.approx(5.1230, abs=1e-7)
    assert (min(lats) + max(lats)) / 2 == pytest.approx(52.0912, abs=1e-7)
    metres_per_deg_lat = 111_250.0
    assert (max(lats) - min(lats)) * metres_per_deg_lat / 2 == pytest.approx(
        DEFAULT_FOOTPRINT_RADIUS_M, rel=0.01
    )


@pytest.mark.usefixtures("seeded")
def test_a_treatment_reads_back_as_it_was_answered(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post("/treatments", json=treatment("tr-poly"), headers=auth(keys["planner"]))
    assert r.status_code == 201, r.text
    answered = r.json()["geometry"]
    assert answered["type"] == "MultiPolygon"
    assert client.get("/collections/treatments/items/tr-poly").json()["geometry"] == answered
    assert client.get("/collections/treatments").json()["geometryType"] == "MultiPolygon"
    assert _geometry_types(client, "treatments") == {"MultiPolygon"}


@pytest.mark.usefixtures("seeded")
def test_temporal_extents_are_the_first_and_last_times(
    client: TestClient, keys: dict[str, str]
) -> None:
    empty = client.get("/collections/observations").json()["extent"]["temporal"]
    assert empty["interval"] == [[None, None]]
    batch = [observation(i) for i in (3, 7, 11)]  # observed on the 4th, 8th and 12th
    r = client.post("/observations", json=collection(batch), headers=auth(keys["sensor"]))
    assert r.status_code == 201, r.text
    for path in ("/collections/observations", "/collections"):
        body = client.get(path).json()
        meta = (
            body
            if "id" in body
            else next(c for c in body["collections"] if c["id"] == "observations")
        )
        assert meta["extent"]["temporal"]["interval"] == [
            ["2026-11-04T10:00:00.000Z", "2026-11-12T10:00:00.000Z"]
        ]
    for tid, day in (("tr-a", "2026-11-20"), ("tr-b", "2026-11-02")):
        r = client.post(
            "/treatments",
            json=treatment(tid, applied_at=f"{day}T08:30:00+01:00"),
            headers=auth(keys["planner"]),
        )
        assert r.status_code == 201, r.text
    interval = client.get("/collections/treatments").json()["extent"]["temporal"]["interval"]
    assert interval == [["2026-11-02T07:30:00.000Z", "2026-11-20T07:30:00.000Z"]]


@pytest.mark.live
def test_gdal_reads_one_geometry_type_from_the_towers_collection(
    tmp_path: Path, live_server_factory: type[LiveServer]
) -> None:
    """A file of Point and Polygon towers imported with the CLI, then read through GDAL's
    OGC API - Features driver: one layer type, every feature a Polygon, no warning."""
    towers = [_point_tower(f"P-{i}", 5.1230 + 0.0004 * i, 52.0912) for i in range(3)]
    towers.append(tower_feature("Q-1"))
    source = tmp_path / "towers.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": towers}))
    data = tmp_path / "data"
    imported = subprocess.run(
        [sys.executable, "-m", "service.cli", "import", "towers", str(source), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    server = live_server_factory(data)
    server.start()
    url = f"OAPIF:{server.url}/collections/towers"
    info = pyogrio.read_info(url)
    assert info["geometry_type"] == "Polygon"
    frame = pyogrio.read_dataframe(url)
    assert len(frame) == 4
    assert set(frame.geometry.geom_type) == {"Polygon"}
    gpkg = pyogrio.read_info(data / "blightmap.gpkg", layer="towers")
    assert gpkg["geometry_type"] == "Polygon"
