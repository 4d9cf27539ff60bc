"""Planners record treatments; the treatments collection shows them with their protection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.demo import seed_demo
from service.state import AppState
from tests.service.conftest import auth


def treatment(tid: str = "tr-1", **props: Any) -> dict[str, Any]:
    lon, lat = 5.1215, 52.0908
    ring = [
        [lon, lat],
        [lon + 0.0005, lat],
        [lon + 0.0005, lat + 0.0003],
        [lon, lat + 0.0003],
        [lon, lat],
    ]
    properties: dict[str, Any] = {
        "strain": "Bacillus subtilis QST 713",
        "dose_l_per_m2": 0.5,
        "applied_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    }
    properties.update(props)
    return {
        "type": "Feature",
        "id": tid,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }


@pytest.mark.usefixtures("seeded")
def test_planner_records_a_treatment(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/treatments", json=treatment(), headers=auth(keys["planner"]))
    assert r.status_code == 201, r.text
    got = client.get("/collections/treatments/items/tr-1").json()
    assert got["properties"]["strain"] == "Bacillus subtilis QST 713"
    assert got["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert 0.0 < got["properties"]["protection"] <= 0.9 and got["properties"]["active"]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "role,status", [("viewer", 403), ("sensor", 403), ("planner", 201), ("admin", 201)]
)
def test_treatment_roles(role: str, status: int, client: TestClient, keys: dict[str, str]) -> None:
    assert (
        client.post("/treatments", json=treatment(), headers=auth(keys[role])).status_code == status
    )


@pytest.mark.usefixtures("seeded")
def test_duplicate_treatment_is_409(client: TestClient, keys: dict[str, str]) -> None:
    client.post("/treatments", json=treatment(), headers=auth(keys["planner"]))
    r = client.post("/treatments", json=treatment(), headers=auth(keys["planner"]))
    assert r.status_code == 409


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "props,field",
    [
        ({"dose_l_per_m2": 0}, "properties.dose_l_per_m2"),
        ({"dose_l_per_m2": 50}, "properties.dose_l_per_m2"),
        ({"applied_at": "2026-11-01T10:00:00"}, "properties.applied_at"),
        ({"strain": ""}, "properties.strain"),
        ({"colour": "red"}, "properties.colour"),
    ],
)
def test_bad_treatment_is_refused(
    props: dict[str, Any], field: str, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    r = client.post("/treatments", json=treatment(**props), headers=auth(keys["planner"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    assert state.store.list_treatments() == []


@pytest.mark.usefixtures("seeded")
def test_bow_tie_polygon_gives_shapely_reason(client: TestClient, keys: dict[str, str]) -> None:
    feat = treatment()
    feat["geometry"]["coordinates"] = [
        [[5.12, 52.09], [5.13, 52.1], [5.13, 52.09], [5.12, 52.1], [5.12, 52.09]]
    ]
    r = client.post("/treatments", json=feat, headers=auth(keys["planner"]))
    assert r.status_code == 422 and "Self-intersection" in r.text


def test_treating_a_zone_by_id_uses_its_polygon(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    seed_demo(state.store, seed=7, end=datetime(2026, 11, 1, 12, tzinfo=UTC))
    zone = client.get("/collections/zones/items", params={"limit": 1}).json()["features"][0]
    feat = treatment("tr-zone", zone_id=zone["id"])
    feat["geometry"] = None
    r = client.post("/treatments", json=feat, headers=auth(keys["planner"]))
    assert r.status_code == 201, r.text
    stored = state.store.get_treatment("tr-zone")
    assert stored is not None and stored.zone_id == zone["id"]
    assert stored.geometry_wgs84.area > 0


@pytest.mark.usefixtures("seeded")
def test_unknown_zone_without_geometry_is_422(client: TestClient, keys: dict[str, str]) -> None:
    feat = treatment(zone_id="zone-b9-999")
    feat["geometry"] = None
    r = client.post("/treatments", json=feat, headers=auth(keys["planner"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "properties.zone_id"
