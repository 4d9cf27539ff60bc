"""Protocol versions (issue 13 finding 6): the ``blightmap.v1`` subprotocol, offered and
echoed, on a real uvicorn server; unknown members tolerated for a newer minor version;
``accuracy_m`` and ``heading_deg`` accepted, the heading ordering what is sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from service.auth import Role
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.schema import check_client_message
from service.stream.versions import MINOR, SUBPROTOCOL
from tests.service.stream.apps import KeyStore, LiveStream
from tests.service.stream.helpers import ORIGIN, drain, move, overlay, serialize, subscribe


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    store = KeyStore(tmp_path)
    yield store
    store.close()


@pytest.fixture
def live(keys: KeyStore) -> Iterator[LiveStream]:
    server = LiveStream(OverlayHub(serialize, origin_lonlat=ORIGIN), StreamConfig(), keys)
    server.start()
    yield server
    server.stop()


@pytest.mark.live
def test_the_subprotocol_is_echoed_and_unknown_ones_refused(
    live: LiveStream, keys: KeyStore
) -> None:
    headers = {"Authorization": f"Bearer {keys.keys[Role.VIEWER]}"}
    live.call(live.hub.publish, [overlay("a", 10)], [])

    async def scenario() -> None:
        offered: Any = ["blightmap.v2", SUBPROTOCOL]  # a newer client also speaking v1
        async with connect(live.url, additional_headers=headers, subprotocols=offered) as ws:
            assert ws.subprotocol == SUBPROTOCOL
            await ws.send(json.dumps(subscribe(accuracy_m=4.0, heading_deg=90.0, minor=MINOR)))
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert snapshot["type"] == "snapshot" and [o["id"] for o in snapshot["overlays"]] == [
                "a"
            ]
        async with connect(live.url, additional_headers=headers) as ws:  # offering none: v1
            assert ws.subprotocol is None
        with pytest.raises(InvalidStatus) as refused:
            mqtt: Any = ["mqtt"]
            async with connect(live.url, additional_headers=headers, subprotocols=mqtt):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["subscribe", "move", "ping", "auth"])
def test_unknown_members_are_ignored_only_for_a_newer_minor(kind: str) -> None:
    message: dict[str, Any] = {
        "subscribe": subscribe(),
        "move": move(10),
        "ping": {"type": "ping", "id": 1},
        "auth": {"type": "auth", "key": "bm_x"},
    }[kind]
    future = {**message, "look_at": {"x": 1}}
    problem = check_client_message(future)
    assert problem is not None and problem.field == "look_at"
    problem = check_client_message({**future, "minor": MINOR})
    assert problem is not None and problem.field == "look_at"
    assert check_client_message({**future, "minor": MINOR + 1}) is None
    wrong = check_client_message({**future, "minor": MINOR + 1, "type": kind, "viewer": 3})
    if kind in ("subscribe", "move"):  # other rules still hold
        assert wrong is not None and wrong.field == "viewer"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"accuracy_m": 0}, "accuracy_m"),
        ({"accuracy_m": "4"}, "accuracy_m"),
        ({"heading_deg": 360}, "heading_deg"),
        ({"heading_deg": -1}, "heading_deg"),
    ],
)
def test_accuracy_and_heading_are_checked(extra: dict[str, Any], field: str) -> None:
    for message in (subscribe(**extra), {**move(1), **extra}):
        problem = check_client_message(message)
        assert problem is not None and problem.field == field
    assert check_client_message({**move(1), "accuracy_m": 3.5, "heading_deg": 359.9}) is None


def test_overlays_ahead_are_sent_first(hub: OverlayHub) -> None:
    hub.publish([overlay("west", -20), overlay("east", 30), overlay("north", 5, 40)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    assert [o["id"] for o in drain(session)[0]["overlays"]] == ["west", "east", "north"]
    session.receive(subscribe(heading_deg=90.0))  # facing east: west is behind
    assert [o["id"] for o in drain(session)[0]["overlays"]] == ["east", "north", "west"]
    session.receive(subscribe(heading_deg=270.0))  # facing west: the others are behind
    assert [o["id"] for o in drain(session)[0]["overlays"]] == ["west", "east", "north"]
