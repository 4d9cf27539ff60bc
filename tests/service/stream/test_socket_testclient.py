"""The adapter through Starlette's TestClient: auth, Origin, limits, errors, shutdown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.auth import Role
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.runtime import StreamRuntime
from tests.service.stream.apps import KeyStore, stream_app
from tests.service.stream.helpers import ORIGIN, overlay, serialize, subscribe

PATH = "/ws/overlays"


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    store = KeyStore(tmp_path)
    yield store
    store.close()


@pytest.fixture
def hub() -> OverlayHub:
    return OverlayHub(serialize, origin_lonlat=ORIGIN)


@pytest.fixture
def runtime(hub: OverlayHub, keys: KeyStore) -> StreamRuntime:
    config = StreamConfig(auth_timeout_s=0.3, allowed_origins=("https://ar.example.org",))
    return StreamRuntime(hub, config, keys.authenticate)


@pytest.fixture
def client(runtime: StreamRuntime) -> Iterator[TestClient]:
    with TestClient(stream_app(runtime)) as c:
        yield c


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _json(ws: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ws.receive_text())
    return data


def test_bearer_header_then_snapshot_and_delta(
    client: TestClient, keys: KeyStore, hub: OverlayHub
) -> None:
    client.portal.call(hub.publish, [overlay("a", 10)], [])  # type: ignore[union-attr]
    with client.websocket_connect(PATH, headers=_bearer(keys.keys[Role.VIEWER])) as ws:
        ws.send_text(json.dumps(subscribe()))
        snapshot = _json(ws)
        assert snapshot["type"] == "snapshot" and [o["id"] for o in snapshot["overlays"]] == ["a"]
        client.portal.call(hub.publish, [overlay("a", 10, version=2)], [])  # type: ignore[union-attr]
        delta = _json(ws)
        assert delta["type"] == "delta" and delta["offset"] == 1


@pytest.mark.parametrize("role", list(Role))
def test_auth_message_for_any_role(client: TestClient, keys: KeyStore, role: Role) -> None:
    with client.websocket_connect(PATH) as ws:
        ws.send_text(json.dumps({"type": "ping"}))  # before auth: an error, still open
        assert _json(ws)["code"] == "unauthenticated"
        ws.send_text("{oops")
        assert _json(ws)["code"] == "bad_json"
        ws.send_text(json.dumps({"type": "auth", "key": keys.keys[role]}))
        ws.send_text(json.dumps({"type": "ping", "id": 1}))
        assert _json(ws) == {"type": "pong", "id": 1}


def test_no_auth_is_closed_after_the_timeout(client: TestClient) -> None:
    with client.websocket_connect(PATH) as ws:
        message = ws.receive()  # nothing sent: the server gives up after 0.3 s
        assert message["type"] == "websocket.close" and message["code"] == 1008


def test_a_bad_key_in_the_header_is_refused(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(PATH, headers=_bearer("bm_nope")),
    ):
        pass
    assert refused.value.code == 1008


def test_a_bad_key_in_the_auth_message_closes_1008(client: TestClient) -> None:
    with client.websocket_connect(PATH) as ws:
        ws.send_text(json.dumps({"type": "auth", "key": "bm_nope"}))
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 1008


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://evil.example.com", False),
        ("null", False),
        ("https://ar.example.org", True),
        ("http://testserver", True),  # the service's own host
    ],
)
def test_origin_allow_list(client: TestClient, keys: KeyStore, origin: str, allowed: bool) -> None:
    headers = {"Origin": origin, **_bearer(keys.keys[Role.VIEWER])}
    if allowed:
        with client.websocket_connect(PATH, headers=headers) as ws:
            ws.send_text(json.dumps({"type": "ping"}))
            assert _json(ws)["type"] == "pong"
        return
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(PATH, headers=headers),
    ):
        pass
    assert refused.value.code == 1008


def test_a_message_over_64_kib_closes_1009(client: TestClient, keys: KeyStore) -> None:
    with client.websocket_connect(PATH, headers=_bearer(keys.keys[Role.VIEWER])) as ws:
        ws.send_text(json.dumps({"type": "ping", "id": "x" * (64 * 1024)}))
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 1009


def test_invalid_messages_are_errors_not_closes(client: TestClient, keys: KeyStore) -> None:
    with client.websocket_connect(PATH, headers=_bearer(keys.keys[Role.VIEWER])) as ws:
        ws.send_text("not json")
        assert _json(ws)["code"] == "bad_json"
        ws.send_bytes(json.dumps(subscribe(range_m=9000)).encode())
        error = _json(ws)
        assert (error["code"], error["field"]) == ("bad_request", "range_m")
        ws.send_text(json.dumps({"type": "ping"}))
        assert _json(ws)["type"] == "pong"


def test_shutdown_closes_with_1001(
    client: TestClient, keys: KeyStore, runtime: StreamRuntime
) -> None:
    with client.websocket_connect(PATH, headers=_bearer(keys.keys[Role.VIEWER])) as ws:
        ws.send_text(json.dumps(subscribe()))
        _json(ws)
        client.portal.call(runtime.aclose)  # type: ignore[union-attr]
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 1001


def test_shutdown_also_closes_sockets_still_authenticating(
    client: TestClient, runtime: StreamRuntime
) -> None:
    with client.websocket_connect(PATH) as ws:
        client.portal.call(runtime.aclose)  # type: ignore[union-attr]
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 1001


def test_a_disconnect_detaches_for_resume(
    client: TestClient, keys: KeyStore, hub: OverlayHub
) -> None:
    with client.websocket_connect(PATH, headers=_bearer(keys.keys[Role.VIEWER])) as ws:
        ws.send_text(json.dumps(subscribe()))
        snapshot = _json(ws)
    client.portal.call(hub.publish, [overlay("late", 5)], [])  # type: ignore[union-attr]
    resume = {"epoch": snapshot["epoch"], "offset": snapshot["offset"]}
    with client.websocket_connect(PATH, headers=_bearer(keys.keys[Role.VIEWER])) as ws:
        ws.send_text(json.dumps(subscribe(resume=resume)))
        assert _json(ws)["recovered"] is True
        delta = _json(ws)
        assert [o["id"] for o in delta["upserts"]] == ["late"]
