"""Issue 11, finding 5: an observation id is no longer first-come, and the store knows
who wrote what.

Before: a second sensor posting an existing id with other content got ``known`` and the
first value stayed, silently; any sensor could claim any ``source`` and any tower; no
row recorded its writer; nothing could be deleted.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.observations import observation_digest
from service.auth import digest
from service.state import AppState
from tests.service.conftest import auth, collection, observation
from tests.service.test_treatments_api import treatment

pytestmark = pytest.mark.usefixtures("seeded")


def key_id(state: AppState, key: str) -> str:
    record = state.store.find_key(digest(key))
    assert record is not None
    return record.key_id


def post(client: TestClient, key: str, *features: dict[str, Any]) -> Any:
    return client.post("/observations", json=collection(list(features)), headers=auth(key))


def new_key(client: TestClient, admin: str, **body: Any) -> Any:
    return client.post("/keys", json={"role": "sensor", **body}, headers=auth(admin))


def test_a_second_writer_with_other_content_gets_409_and_the_stored_digest(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    assert post(client, keys["sensor"], observation(1, intensity=0.2)).status_code == 201
    stored = state.store.get_observation("obs-1")
    assert stored is not None
    other = new_key(client, keys["admin"]).json()["key"]
    r = post(client, other, observation(2), observation(1, intensity=0.9))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    (error,) = r.json()["errors"]
    assert error["field"] == "features.1.id"
    assert observation_digest(stored) in error["reason"]
    assert state.store.get_observation("obs-1") == stored  # the first value stays...
    assert state.store.get_observation("obs-2") is None  # ...and nothing else was stored


def test_identical_content_stays_idempotent_for_any_writer(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    post(client, keys["sensor"], observation(1))
    again = post(client, keys["admin"], observation(1))
    assert again.status_code == 200 and again.json()["known"] == 1
    assert state.store.written_by("observations", "obs-1") == key_id(state, keys["sensor"])


def test_every_row_records_the_key_id_never_the_secret(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    post(client, keys["sensor"], observation(1))
    tower = {
        "type": "Feature",
        "id": "T-NEW",
        "geometry": {"type": "Point", "coordinates": [5.1230, 52.0912]},
        "properties": {
            "base_height_m": 2.0,
            "height_m": 9.0,
            "tiers": [{"level": 0, "height_m": 0.5}],
        },
    }
    created = client.post("/collections/towers/items", json=tower, headers=auth(keys["admin"]))
    assert created.status_code == 201, created.text
    r = client.post("/treatments", json=treatment(), headers=auth(keys["planner"]))
    assert r.status_code == 201, r.text
    assert state.store.written_by("observations", "obs-1") == key_id(state, keys["sensor"])
    assert state.store.written_by("towers", "T-NEW") == key_id(state, keys["admin"])
    assert state.store.written_by("treatments", "tr-1") == key_id(state, keys["planner"])
    secret = keys["sensor"]
    assert secret not in state.settings.store_path.read_bytes().decode("latin-1")


def test_a_scoped_sensor_key_reports_only_its_sources_and_towers(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    created = new_key(
        client, keys["admin"], label="gate 3", scopes={"sources": ["sensor"], "tower_ids": ["T001"]}
    )
    assert created.status_code == 201, created.text
    assert created.json()["scopes"] == {"sources": ["sensor"], "tower_ids": ["T001"]}
    scoped = created.json()["key"]
    ok = post(client, scoped, observation(1, tower_id="T001"))
    assert ok.status_code == 201, ok.text
    cases = {
        "features.0.properties.source": observation(2, tower_id="T001", source="drone"),
        "features.0.properties.tower_id": observation(3, tower_id="T002"),
    }
    for field, feature in cases.items():
        r = post(client, scoped, feature)
        assert r.status_code == 403, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    no_tower = post(client, scoped, observation(4))
    assert no_tower.status_code == 403
    assert no_tower.json()["errors"][0]["field"] == "features.0.properties.tower_id"
    assert state.store.counts()["observations"] == 1
    listed = client.get("/keys", headers=auth(keys["admin"])).json()
    assert {"sources": ["sensor"], "tower_ids": ["T001"]} in [k["scopes"] for k in listed]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"role": "planner", "scopes": {"sources": ["sensor"]}}, "scopes"),
        ({"role": "sensor", "scopes": {"sources": []}}, "scopes.sources"),
        ({"role": "sensor", "scopes": {"sources": ["satellite"]}}, "scopes.sources.0"),
        ({"role": "sensor", "scopes": {"tower_ids": ["bad id!"]}}, "scopes.tower_ids.0"),
        ({"role": "sensor", "scopes": {"tower_ids": ["T1"] * 1001}}, "scopes.tower_ids"),
        ({"role": "sensor", "scopes": {"colour": "red"}}, "scopes.colour"),
    ],
)
def test_bad_scopes_are_422_naming_the_field(
    body: dict[str, Any], field: str, client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post("/keys", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_an_admin_deletes_an_observation_with_an_audit_record(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    post(client, keys["sensor"], observation(1), observation(2))
    stored = state.store.get_observation("obs-2")
    assert stored is not None
    url = "/collections/observations/items/obs-2"
    for role in ("viewer", "sensor", "planner"):
        assert client.delete(url, headers=auth(keys[role])).status_code == 403
    assert client.delete(url).status_code == 401
    r = client.delete(url, headers=auth(keys["admin"]))
    assert r.status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/collections/observations/items/obs-1").status_code == 200
    missing = client.delete(url, headers=auth(keys["admin"]))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    (record,) = state.store.audit_log()
    assert record.key_id == key_id(state, keys["admin"])
    assert (record.action, record.target) == ("delete", "observations/obs-2")
    assert record.detail["digest"] == observation_digest(stored)
    listed = client.get("/audit", headers=auth(keys["admin"]))
    assert listed.status_code == 200
    (entry,) = listed.json()
    assert entry["key_id"] == record.key_id and entry["target"] == "observations/obs-2"
    assert entry["detail"]["feature"]["id"] == "obs-2"
    assert client.get("/audit", headers=auth(keys["planner"])).status_code == 403
    assert client.get("/audit", params={"limit": 0}, headers=auth(keys["admin"])).status_code == 400
    # the id is free again, so a corrected observation can be sent under it
    assert post(client, keys["sensor"], observation(2, intensity=0.7)).status_code == 201
