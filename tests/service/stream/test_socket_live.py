"""The adapter on a real uvicorn server on loopback, with the ``websockets`` client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from service.auth import Role
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from tests.service.stream.apps import KeyStore, LiveStream
from tests.service.stream.helpers import ORIGIN, overlay, serialize, subscribe

pytestmark = pytest.mark.live


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    store = KeyStore(tmp_path)
    yield store
    store.close()


@pytest.fixture
def live(keys: KeyStore) -> Iterator[LiveStream]:
    hub = OverlayHub(serialize, origin_lonlat=ORIGIN, outbox_max_bytes=64 << 20)
    config = StreamConfig(
        auth_timeout_s=0.5, send_timeout_s=0.5, close_timeout_s=0.5, sweep_interval_s=0.2
    )
    server = LiveStream(hub, config, keys)
    server.start()
    yield server
    server.stop()


def _bearer(keys: KeyStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.keys[Role.VIEWER]}"}


async def _next(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return data


def test_header_auth_snapshot_and_live_delta(live: LiveStream, keys: KeyStore) -> None:
    live.call(live.hub.publish, [overlay("a", 10)], [])

    async def scenario() -> None:
        async with connect(live.url, additional_headers=_bearer(keys)) as ws:
            await ws.send(json.dumps(subscribe()))
            snapshot = await _next(ws)
            assert [o["id"] for o in snapshot["overlays"]] == ["a"]
            await asyncio.to_thread(live.call, live.hub.publish, [overlay("b", 20)], [])
            delta = await _next(ws)
            assert [o["id"] for o in delta["upserts"]] == ["b"]

    asyncio.run(scenario())


def test_auth_message_then_ping(live: LiveStream, keys: KeyStore) -> None:
    async def scenario() -> None:
        async with connect(live.url) as ws:
            await ws.send(json.dumps({"type": "auth", "key": keys.keys[Role.SENSOR]}))
            await ws.send(json.dumps({"type": "ping", "id": "p"}))
            assert await _next(ws) == {"type": "pong", "id": "p"}
            assert await ws.ping() is not None  # protocol pings are answered too

    asyncio.run(scenario())


def test_no_auth_is_closed_1008_after_the_timeout(live: LiveStream) -> None:
    async def scenario() -> None:
        async with connect(live.url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer bm_unknown"}, {"Origin": "https://evil.example.com"}],
    ids=["bad-key", "refused-origin"],
)
def test_refused_at_the_handshake_with_403(live: LiveStream, headers: dict[str, str]) -> None:
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(live.url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def test_bad_key_in_the_auth_message_closes_1008(live: LiveStream) -> None:
    async def scenario() -> None:
        async with connect(live.url) as ws:
            await ws.send(json.dumps({"type": "auth", "key": "bm_unknown"}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_a_message_over_64_kib_closes_1009(live: LiveStream, keys: KeyStore) -> None:
    async def scenario() -> None:
        async with connect(live.url, additional_headers=_bearer(keys)) as ws:
            await ws.send(json.dumps({"type": "ping", "id": "x" * 70_000}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    asyncio.run(scenario())


def test_a_client_that_never_reads_is_closed_while_another_keeps_receiving(
    live: LiveStream, keys: KeyStore
) -> None:
    rounds = 60  # 60 x 200 kB (not compressed): more than the socket buffers hold

    async def scenario() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", live.port))
        async with (
            connect(
                live.url, sock=sock, additional_headers=_bearer(keys), max_queue=1, compression=None
            ) as idle,
            connect(live.url, additional_headers=_bearer(keys)) as reader,
        ):
            for ws in (idle, reader):
                await ws.send(json.dumps(subscribe()))
            await _next(reader)
            await asyncio.sleep(0.1)  # both subscribed; idle reads nothing from now on
            got = 0
            for r in range(1, rounds + 1):
                payload = base64.b64encode(os.urandom(150_000)).decode()
                await asyncio.to_thread(
                    live.call, live.hub.publish, [overlay("big", 10, version=r, p=payload)], []
                )
                delta = await _next(reader)
                got += len(delta["upserts"])
            assert got == rounds  # the reader got every version, unhindered
            for _ in range(50):
                if live.runtime.closed_codes[4008]:
                    break
                await asyncio.sleep(0.1)
            assert live.runtime.closed_codes[4008] == 1
            assert live.call(lambda: live.hub.stats().subscribed) == 1
            with pytest.raises(ConnectionClosed):  # reading now: the data, then the end
                while True:
                    await asyncio.wait_for(idle.recv(), 5)

    asyncio.run(scenario())


def test_shutdown_closes_with_1001(live: LiveStream, keys: KeyStore) -> None:
    async def scenario() -> None:
        async with connect(live.url, additional_headers=_bearer(keys)) as ws:
            await ws.send(json.dumps(subscribe()))
            await _next(ws)
            await asyncio.to_thread(live.stop)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

    asyncio.run(scenario())


def test_resume_after_a_dropped_connection(live: LiveStream, keys: KeyStore) -> None:
    async def scenario() -> None:
        ws = await connect(live.url, additional_headers=_bearer(keys))
        await ws.send(json.dumps(subscribe()))
        snapshot = await _next(ws)
        ws.transport.abort()  # no close frame: the network just went away
        for _ in range(50):
            if live.call(lambda: live.hub.stats().detached) == 1:
                break
            await asyncio.sleep(0.05)
        live.call(live.hub.publish, [overlay("while-away", 10)], [])
        async with connect(live.url, additional_headers=_bearer(keys)) as again:
            resume = {"epoch": snapshot["epoch"], "offset": snapshot["offset"]}
            await again.send(json.dumps(subscribe(resume=resume)))
            assert (await _next(again))["recovered"] is True
            delta = await _next(again)
            assert [o["id"] for o in delta["upserts"]] == ["while-away"]

    asyncio.run(scenario())
