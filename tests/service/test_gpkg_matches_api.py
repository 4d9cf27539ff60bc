"""The live store is a GeoPackage that GDAL reads with the API's counts, while it runs.

GDAL reads from a child process, as QGIS would: GDAL must never open the live file in
the process that holds the store (see ``service/store/gpkg_connections.py``).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.service.conftest import auth, collection, observation
from tests.service.store.conftest import read_with_gdal

pytestmark = pytest.mark.usefixtures("seeded")


def test_gdal_sees_what_the_api_serves(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    feats = [observation(i) for i in range(25)]
    client.post("/observations", json=collection(feats), headers=auth(keys["sensor"]))
    gdal = read_with_gdal(settings.store_path)
    assert {"towers", "observations"} <= set(gdal["layers"])
    for name in ("towers", "observations"):
        api = client.get(f"/collections/{name}/items", params={"limit": 1}).json()
        assert gdal["info"][name]["features"] == api["numberMatched"]
        assert gdal["info"][name]["crs"] == "EPSG:4326"
    assert sorted(r["obs_id"] for r in gdal["rows"]["observations"]) == sorted(
        f["id"] for f in feats
    )
    api_tower = client.get("/collections/towers/items/T004").json()
    row = next(r for r in gdal["rows"]["towers"] if r["tower_id"] == "T004")
    assert row["name"] == api_tower["properties"]["name"]
    # the service keeps working after GDAL looked at the file from another process
    more = client.post(
        "/observations", json=collection([observation(99)]), headers=auth(keys["sensor"])
    )
    assert more.status_code == 201
