"""Resume on a real uvicorn server (direct frame writes), with a slow reader.

Issue 13 finding 3: under uvicorn's direct-write path a resumed session received the
same delta twice, or offsets 3, 1, 2, 3. Here a client with a small receive buffer
falls behind (so both the direct path and the awaited send path carry its messages),
applies only part of what was sent, loses its connection, and resumes while the
server keeps publishing: the offsets it then reads go up by one, with no duplicate,
and it ends with what a client that never left holds.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from service.auth import Role
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from tests.service.stream.apps import KeyStore, LiveStream
from tests.service.stream.helpers import ORIGIN, overlay, serialize, subscribe

pytestmark = pytest.mark.live

_PAYLOAD = "x" * 20_000  # 40 versions of 20 kB: more than a 4 KiB receive buffer holds


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    store = KeyStore(tmp_path)
    yield store
    store.close()


@pytest.fixture
def live(keys: KeyStore) -> Iterator[LiveStream]:
    hub = OverlayHub(serialize, origin_lonlat=ORIGIN, history_max_bytes=16 << 20)
    config = StreamConfig(send_timeout_s=5.0, close_timeout_s=0.5, sweep_interval_s=0.2)
    server = LiveStream(hub, config, keys)
    server.start()
    yield server
    server.stop()


def _apply(state: dict[str, int], message: dict[str, Any]) -> None:
    if message["type"] == "snapshot":
        state.clear()
        state.update({o["id"]: o["version"] for o in message["overlays"]})
    elif message["type"] == "delta":
        state.update({o["id"]: o["version"] for o in message["upserts"]})
        for gone in message["removes"]:
            state.pop(gone, None)


async def _next(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def _publish(live: LiveStream, overlay_id: str, version: int) -> None:
    item = overlay(overlay_id, 10 + version % 7, version=version, p=_PAYLOAD)
    await asyncio.to_thread(live.call, live.hub.publish, [item], [])


def test_resume_with_a_slow_reader_is_exact(live: LiveStream, keys: KeyStore) -> None:
    headers = {"Authorization": f"Bearer {keys.keys[Role.VIEWER]}"}

    async def scenario() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", live.port))
        ws = await connect(
            live.url, sock=sock, additional_headers=headers, max_queue=1, compression=None
        )
        await ws.send(json.dumps(subscribe()))
        client: dict[str, int] = {}
        snapshot = await _next(ws)
        _apply(client, snapshot)
        for version in range(1, 41):  # the client reads nothing meanwhile
            await _publish(live, f"o{version % 5}", version)
        applied = snapshot["offset"]
        for _ in range(3):  # then it reads a little, slowly, and the network drops
            message = await _next(ws)
            assert message["offset"] == applied + 1
            _apply(client, message)
            applied = message["offset"]
            await asyncio.sleep(0.05)
        ws.transport.abort()
        for _ in range(100):
            if live.call(lambda: live.hub.stats().detached) == 1:
                break
            await asyncio.sleep(0.05)
        for version in range(41, 46):  # changed while away
            await _publish(live, f"o{version % 5}", version)

        async with connect(live.url, additional_headers=headers, compression=None) as again:
            resume = {"epoch": snapshot["epoch"], "offset": applied}
            await again.send(json.dumps(subscribe(resume=resume)))
            assert (await _next(again))["type"] == "resumed"
            for version in range(46, 51):  # live while the replay is read
                await _publish(live, f"o{version % 5}", version)
            offsets = []
            while client.get("o0") != 50:
                message = await _next(again)
                assert message["type"] == "delta" and message["epoch"] == snapshot["epoch"]
                offsets.append(message["offset"])
                _apply(client, message)
            assert offsets == list(range(applied + 1, applied + 1 + len(offsets))), offsets
        expected = {f"o{v % 5}": v for v in range(46, 51)}
        assert client == expected

    asyncio.run(scenario())
