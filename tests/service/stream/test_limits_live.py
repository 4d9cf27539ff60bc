"""Stream limits on a real ``blightmap serve`` on loopback (issue 11 finding 3).

Before: a viewer sending ``move`` at 4,000/s made every ``/healthz`` time out and was
never closed; one key could hold every session slot; revoking a key left its live
sessions running.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer
from tests.service.stream.helpers import subscribe

pytestmark = pytest.mark.live


def _key(data_dir: Path, role: str) -> str:
    command = [sys.executable, "-m", "service.cli", "keys", "create", "--role", role]
    out = subprocess.run(
        [*command, "--data", str(data_dir)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("stream-limits")
    admin = _key(data, "admin")  # creates the store
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BLIGHTMAP_WS_MAX_SESSIONS_PER_KEY", "3")
        patch.setenv("BLIGHTMAP_WS_KEY_CHECK_INTERVAL_S", "0.5")
        live = LiveServer(data)
        live.start()
    live.admin = admin  # type: ignore[attr-defined]
    yield live
    live.stop()


def _new_key(server: LiveServer, role: str) -> dict[str, str]:
    """A new key of ``role`` from ``POST /keys``: ``key`` and ``key_id``."""
    admin = _bearer(server.admin)  # type: ignore[attr-defined]
    created = httpx.post(server.url + "/keys", json={"role": role}, headers=admin, timeout=10)
    assert created.status_code == 201
    body: dict[str, str] = created.json()
    return body


def _ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/ws/overlays"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_move_flood_is_closed_4029_and_healthz_answers_meanwhile(server: LiveServer) -> None:
    key = _new_key(server, "viewer")["key"]
    probes: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                probes.append(http.get(server.url + "/healthz").status_code)

    async def flood() -> int | None:
        async with connect(_ws_url(server), additional_headers=_bearer(key)) as ws:
            await ws.send(json.dumps(subscribe()))
            move = json.dumps({"type": "move", "viewer": subscribe(5.0)["viewer"]})
            try:
                for _ in range(20_000):
                    await ws.send(move)
                await asyncio.wait_for(ws.wait_closed(), 10)
            except ConnectionClosed:
                pass
            return ws.close_code

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        code = asyncio.run(flood())
    finally:
        stop.set()
        prober.join()
    assert code == 4029
    assert probes and set(probes) == {200}


def test_one_key_holds_at_most_its_session_cap(server: LiveServer) -> None:
    key, other = _new_key(server, "viewer")["key"], _new_key(server, "viewer")["key"]

    async def scenario() -> None:
        url = _ws_url(server)
        held = [await connect(url, additional_headers=_bearer(key)) for _ in range(3)]
        try:
            async with connect(url, additional_headers=_bearer(key)) as extra:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(extra.recv(), 5)
                assert extra.close_code == 4030
            async with connect(url, additional_headers=_bearer(other)) as ws:  # not held up
                await ws.send(json.dumps({"type": "ping", "id": 1}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        finally:
            for ws in held:
                await ws.close()

    asyncio.run(scenario())


def test_revoking_a_key_closes_its_live_sessions(server: LiveServer) -> None:
    admin = server.admin  # type: ignore[attr-defined]
    created = _new_key(server, "viewer")

    async def scenario() -> None:
        async with connect(_ws_url(server), additional_headers=_bearer(created["key"])) as ws:
            await ws.send(json.dumps(subscribe()))
            await asyncio.wait_for(ws.recv(), 5)  # the snapshot: the session is live
            async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
                r = await http.delete(f"/keys/{created['key_id']}", headers=_bearer(admin))
                assert r.status_code == 204
            with pytest.raises(ConnectionClosed):
                while True:  # before: the session ran on
                    await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 4031

    asyncio.run(scenario())
