"""The whole AR path on the real app: demo data -> field -> overlays -> /ws/overlays -> GLBs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from service.app import create_app, open_store
from service.auth import Role, create_key
from service.demo import seed_demo
from service.settings import Settings
from tests.ar_assets.conftest import assert_valid_geopose
from tests.conftest import ValidateGlb

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    settings = Settings(data_dir=tmp_path, field_debounce_s=0.0)
    store = open_store(settings)
    seed_demo(store, seed=7, end=END)
    keys = {r.value: create_key(store, r)[0] for r in (Role.VIEWER, Role.SENSOR, Role.ADMIN)}
    store.close()
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, keys, app.state.blightmap


def _subscribe(ws: WebSocketTestSession, lon: float, lat: float, range_m: float = 250) -> None:
    ws.send_text(
        json.dumps(
            {
                "type": "subscribe",
                "range_m": range_m,
                "convention": "geopose",
                "layers": ["towers", "tiers", "heat", "zones"],
                "viewer": {
                    "position": {"lat": lat, "lon": lon, "h": 47.0},
                    "quaternion": {"x": 0, "y": 0, "z": 0, "w": 1},
                },
            }
        )
    )


def _overlays_until(ws: WebSocketTestSession, predicate: Any, limit: int = 50) -> dict[str, Any]:
    """Apply snapshot/deltas until ``predicate(view)`` holds; returns the view by id."""
    view: dict[str, Any] = {}
    for _ in range(limit):
        message = json.loads(ws.receive_text())
        if message["type"] == "snapshot":
            view = {o["id"]: o for o in message["overlays"]}
        elif message["type"] == "delta":
            view.update({o["id"]: o for o in message["upserts"]})
            for gone in message["removes"]:
                view.pop(gone, None)
        if predicate(view):
            return view
    raise AssertionError("the stream never reached the expected state")


def _has_kind(kind: str) -> Any:
    return lambda view: any(o["kind"] == kind for o in view.values())


def test_demo_overlays_stream_with_valid_poses_and_assets(
    demo_app: tuple[TestClient, dict[str, str], Any], validate_glb: ValidateGlb
) -> None:
    client, keys, state = demo_app
    tower = state.towers.current().index.towers[10]
    lon, lat = tower.centroid_lonlat
    headers = {"Authorization": f"Bearer {keys['viewer']}"}
    with client.websocket_connect("/ws/overlays", headers=headers) as ws:
        _subscribe(ws, lon, lat)
        view = _overlays_until(ws, _has_kind("tier_ring"))
    kinds = {o["kind"] for o in view.values()}
    assert {"tower_marker", "tier_ring"} <= kinds
    for overlay in view.values():
        assert_valid_geopose(overlay["geopose"])
    tier = next(
        o
        for o in view.values()
        if o["kind"] == "tier_ring" and o["properties"]["tower_id"] == tower.id
    )
    snapshot = state.fields.latest
    expected = snapshot.tier_values[(tower.id, tier["properties"]["tier"])][0]
    assert tier["properties"]["intensity"] == pytest.approx(expected, abs=1e-3)
    hrefs = sorted({o["asset"] for o in view.values()})[:6]
    glbs = []
    for href in hrefs:
        r = client.get(href)
        assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
        assert "immutable" in r.headers["cache-control"] and r.content[:4] == b"glTF"
        glbs.append(r.content)
    assert all(report["issues"]["numErrors"] == 0 for report in validate_glb(glbs))


def test_a_new_observation_reaches_the_subscriber_as_a_delta(
    demo_app: tuple[TestClient, dict[str, str], Any],
) -> None:
    client, keys, state = demo_app
    tower = state.towers.current().index.towers[5]
    lon, lat = tower.centroid_lonlat
    headers = {"Authorization": f"Bearer {keys['viewer']}"}
    with client.websocket_connect("/ws/overlays", headers=headers) as ws:
        _subscribe(ws, lon, lat, range_m=120)
        ring_id = f"tier:{tower.id}:0"
        before = _overlays_until(ws, lambda v: ring_id in v)[ring_id]
        feature = {
            "type": "Feature",
            "id": "e2e-1",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "observed_at": "2026-11-01T11:59:00Z",
                "intensity": 1.0,
                "source": "sensor",
                "tower_id": tower.id,
                "tier": 0,
            },
        }
        r = client.post(
            "/observations",
            json={"type": "FeatureCollection", "features": [feature]},
            headers={"Authorization": f"Bearer {keys['sensor']}"},
        )
        assert r.status_code == 201
        after = _overlays_until(
            ws, lambda v: v.get(ring_id, before)["version"] > before["version"]
        )[ring_id]
    assert after["properties"]["intensity"] > before["properties"]["intensity"]


def test_stream_refuses_without_a_key(demo_app: tuple[TestClient, dict[str, str], Any]) -> None:
    client, _, _ = demo_app
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(
            "/ws/overlays", headers={"Authorization": "Bearer bm_wrong"}
        ) as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 1008


def test_deleting_a_tower_removes_its_overlays(
    demo_app: tuple[TestClient, dict[str, str], Any],
) -> None:
    client, keys, state = demo_app
    tower = state.towers.current().index.towers[7]
    lon, lat = tower.centroid_lonlat
    marker = f"tower:{tower.id}"
    with client.websocket_connect(
        "/ws/overlays", headers={"Authorization": f"Bearer {keys['viewer']}"}
    ) as ws:
        _subscribe(ws, lon, lat, range_m=120)
        _overlays_until(ws, lambda v: marker in v)
        r = client.delete(
            f"/collections/towers/items/{tower.id}",
            headers={"Authorization": f"Bearer {keys['admin']}"},
        )
        assert r.status_code == 204
        view = _overlays_until(ws, lambda v: marker not in v)
    assert not any(o["properties"].get("tower_id") == tower.id for o in view.values())
