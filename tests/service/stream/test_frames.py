"""The ``blightmap.frames`` extension: direct frame writes, and the stream's use of them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.testclient import TestClient
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect

from service.auth import Role
from service.stream.config import StreamConfig
from service.stream.frames import FramesProtocol, frame_writer
from service.stream.hub import OverlayHub
from service.stream.server import StreamServer
from tests.conftest import free_port
from tests.service.stream.apps import KeyStore, LiveStream
from tests.service.stream.helpers import ORIGIN, overlay, serialize, subscribe

pytestmark = pytest.mark.live


def _echo_app(seen: list[bool]) -> FastAPI:
    """An app that answers every text message through the frame writer when there is one."""
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        writer = frame_writer(websocket.scope)
        seen.append(writer is not None)
        text = await websocket.receive_text()
        if writer is None:
            await websocket.send_text(text.upper())
        else:
            assert writer.can_write()
            writer.write_text(text.upper().encode())
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()  # until the client closes

    return app


def _run(server: uvicorn.Server) -> threading.Thread:
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    return thread


@pytest.mark.parametrize(
    ("ws_impl", "offered"),
    [("auto", True), ("websockets-sansio", True), (WebSocketsSansIOProtocol, False)],
)
def test_the_stream_server_offers_direct_frames_with_the_default_protocol(
    ws_impl: Any, offered: bool
) -> None:
    """By name, uvicorn's default protocol gains the extension; a class given is kept."""
    seen: list[bool] = []
    port = free_port()
    config = uvicorn.Config(
        _echo_app(seen), host="127.0.0.1", port=port, ws=ws_impl, log_level="warning"
    )
    server = StreamServer(config, None)
    thread = _run(server)

    async def scenario() -> str:
        async with connect(f"ws://127.0.0.1:{port}/ws") as client:
            await client.send("hello, tower 7")
            answer = await asyncio.wait_for(client.recv(), 5)
            assert isinstance(answer, str)  # a text frame, not a binary one
            return answer

    try:
        assert asyncio.run(scenario()) == "HELLO, TOWER 7"
        assert seen == [offered]
        assert (config.ws is FramesProtocol) is offered
    finally:
        server.should_exit = True
        thread.join(15)


def test_the_test_client_offers_no_writer_and_the_app_falls_back_to_asgi() -> None:
    seen: list[bool] = []
    with TestClient(_echo_app(seen)) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("kale")
        assert ws.receive_text() == "KALE"
    assert seen == [False]


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    store = KeyStore(tmp_path)
    yield store
    store.close()


@pytest.fixture
def live(keys: KeyStore) -> Iterator[LiveStream]:
    hub = OverlayHub(serialize, origin_lonlat=ORIGIN, outbox_max_bytes=64 << 20)
    server = LiveStream(hub, StreamConfig(send_timeout_s=5.0), keys)
    server.start()
    yield server
    server.stop()


def test_deltas_go_out_directly_while_the_client_keeps_up(
    live: LiveStream, keys: KeyStore
) -> None:
    async def scenario() -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {keys.keys[Role.VIEWER]}"}
        async with connect(live.url, additional_headers=headers) as ws:
            await ws.send(json.dumps(subscribe()))
            await asyncio.wait_for(ws.recv(), 5)  # the snapshot
            got = []
            for version in range(1, 6):
                live.call(live.hub.publish, [overlay("a", 10, version=version)], [])
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            return got

    deltas = asyncio.run(scenario())
    assert [d["upserts"][0]["version"] for d in deltas] == [1, 2, 3, 4, 5]
    assert live.runtime.sent["direct"] >= 5  # the five deltas, at least


def test_a_slow_reader_gets_every_offset_in_order_across_both_paths(
    live: LiveStream, keys: KeyStore
) -> None:
    """Back-pressure moves a session to the awaited path and back; no offset is skipped."""
    rounds = 40

    async def scenario() -> list[dict[str, Any]]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", live.port))
        headers = {"Authorization": f"Bearer {keys.keys[Role.VIEWER]}"}
        async with connect(
            live.url, sock=sock, additional_headers=headers, compression=None, max_queue=1
        ) as ws:
            await ws.send(json.dumps(subscribe()))
            messages = [json.loads(await asyncio.wait_for(ws.recv(), 5))]
            for r in range(1, rounds + 1):  # 40 x 200 kB: well past the socket buffers
                pad = base64.b64encode(os.urandom(150_000)).decode()
                live.call(live.hub.publish, [overlay(f"o{r % 3}", 10, version=r, p=pad)], [])
                if r % 10 == 0:
                    await asyncio.sleep(0.2)  # the client falls behind, then reads a little
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            final = {"o1": rounds, "o0": rounds - 1, "o2": rounds - 2}  # r % 3 names them
            while _newest(messages) != final:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            return messages

    messages = asyncio.run(scenario())
    offsets = [m["offset"] for m in messages]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    assert len({m["epoch"] for m in messages}) == 1
    versions: dict[str, int] = {}
    for m in messages[1:]:
        for o in m["upserts"]:
            assert o["version"] > versions.get(o["id"], 0)  # never older after newer
            versions[o["id"]] = o["version"]
    assert live.runtime.sent["direct"] > 0
    assert live.runtime.sent["awaited"] > 0  # back-pressure took the awaited path


def _newest(messages: list[dict[str, Any]]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for m in messages[1:]:
        for o in m["upserts"]:
            newest[o["id"]] = max(newest.get(o["id"], 0), o["version"])
    return newest
