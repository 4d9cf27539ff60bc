"""The role matrix: 401 without a key, 403 with the wrong role, success with the right one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.service.conftest import auth, collection, observation
from tests.service.test_towers_api import tower_feature

pytestmark = pytest.mark.usefixtures("seeded")

WRITES: dict[str, tuple[str, str, Any, set[str]]] = {
    "post observations": (
        "POST",
        "/observations",
        collection([observation(1)]),
        {"admin", "sensor"},
    ),
    "create tower": ("POST", "/collections/towers/items", tower_feature(), {"admin"}),
    "replace tower": ("PUT", "/collections/towers/items/T001", tower_feature("T001"), {"admin"}),
    "create key": ("POST", "/keys", {"role": "viewer"}, {"admin"}),
    "list keys": ("GET", "/keys", None, {"admin"}),
}
ROLES = ["admin", "planner", "sensor", "viewer"]


@pytest.mark.parametrize("action", sorted(WRITES))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(action: str, role: str, client: TestClient, keys: dict[str, str]) -> None:
    method, path, body, allowed = WRITES[action]
    r = client.request(method, path, json=body, headers=auth(keys[role]))
    if role in allowed:
        assert r.status_code < 300, r.text
    else:
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("action", sorted(WRITES))
def test_no_key_is_401(action: str, client: TestClient) -> None:
    method, path, body, _ = WRITES[action]
    r = client.request(method, path, json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_unknown_key_is_401(client: TestClient) -> None:
    r = client.post(
        "/observations", json=collection([observation(1)]), headers=auth("bm_not-a-real-key")
    )
    assert r.status_code == 401


def test_revoked_key_is_401(client: TestClient, keys: dict[str, str]) -> None:
    listed = client.get("/keys", headers=auth(keys["admin"])).json()
    sensor = next(k for k in listed if k["role"] == "sensor")
    assert "key" not in sensor and "digest_hex" not in sensor
    assert (
        client.delete(f"/keys/{sensor['key_id']}", headers=auth(keys["admin"])).status_code == 204
    )
    r = client.post(
        "/observations", json=collection([observation(1)]), headers=auth(keys["sensor"])
    )
    assert r.status_code == 401


def test_created_key_works_and_is_stored_hashed(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/keys", json={"role": "sensor", "label": "gate sensor"}, headers=auth(keys["admin"])
    )
    new_key = r.json()["key"]
    store_file = client.app.state.blightmap.settings.store_path  # type: ignore[attr-defined]
    assert new_key.encode() not in store_file.read_bytes()
    ok = client.post("/observations", json=collection([observation(2)]), headers=auth(new_key))
    assert ok.status_code == 201


def test_reads_are_open_by_default(client: TestClient) -> None:
    assert client.get("/collections/towers/items").status_code == 200


def test_closed_reads_need_a_viewer_key(tmp_path: Any) -> None:
    app = create_app(Settings(data_dir=tmp_path, open_reads=False))
    with TestClient(app) as c:
        assert c.get("/collections/towers/items").status_code == 401
        from service.auth import Role, create_key

        key, _ = create_key(app.state.blightmap.store, Role.VIEWER)
        assert c.get("/collections/towers/items", headers=auth(key)).status_code == 200
