"""The adapter's own limit: messages before authentication count against the rate too."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.runtime import StreamRuntime
from tests.service.stream.apps import KeyStore, stream_app
from tests.service.stream.helpers import ORIGIN, serialize


def test_a_flood_before_auth_is_closed_4029(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    hub = OverlayHub(serialize, origin_lonlat=ORIGIN, max_messages_per_s=10, message_burst=20)
    runtime = StreamRuntime(hub, StreamConfig(auth_timeout_s=30), keys.authenticate)
    try:
        with (
            TestClient(stream_app(runtime)) as client,
            client.websocket_connect("/ws/overlays") as ws,
        ):
            errors = 0
            try:
                for _ in range(1000):
                    ws.send_text('{"type": "ping"}')
                    ws.receive_json()  # "unauthenticated" while within the rate
                    errors += 1
            except WebSocketDisconnect as closed:
                assert closed.code == 4029
            assert 0 < errors <= 21  # the burst, and maybe one refilled token
    finally:
        keys.close()
