"""Resume under an adapter that writes from its wake-up (uvicorn's direct frame path).

The direct path calls :meth:`Session.outgoing` inside the wake-up callback, in the
very call that queued something. Issue 13 finding 3: a resume queued ``resumed``,
whose wake-up built the delta of the changes made while detached (and put it in the
history) before the replay was read from that history, so the client got offsets
3, 1, 2, 3, or the same delta twice.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from service.auth import Role
from service.stream.hub import OverlayHub
from service.stream.schema import validator
from service.stream.session import Session
from tests.service.stream.helpers import drain, overlay, subscribe


class DirectWriter:
    """Takes a session's messages from within its wake-up, as ``socket._write_now`` does."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sent: list[dict[str, Any]] = []
        session.set_wakeup(self.wake)

    def wake(self) -> None:
        check = validator("server_message")
        for data in self.session.outgoing():
            message = orjson.loads(data)
            check.validate(message)
            self.sent.append(message)


def _stream_offsets(messages: list[dict[str, Any]]) -> list[int]:
    return [m["offset"] for m in messages if m["type"] in ("snapshot", "delta")]


@pytest.mark.parametrize("missed", [0, 1, 2])
def test_resume_through_direct_writes_is_exact(hub: OverlayHub, missed: int) -> None:
    hub.publish([overlay("a", 10)], [])
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe())
    [snapshot] = drain(first)
    for version in range(2, 2 + missed):  # handed to the socket, never applied
        hub.publish([overlay("a", 10, version=version)], [])
        drain(first)
    first.detach()
    hub.publish([overlay("b", 20)], [])  # changed while away: one delta after the replay

    second = hub.connect(Role.VIEWER)
    writer = DirectWriter(second)
    second.receive(subscribe(resume={"epoch": snapshot["epoch"], "offset": 0}))
    hub.publish([overlay("c", 30)], [])  # then live

    assert writer.sent[0]["type"] == "resumed"
    offsets = _stream_offsets(writer.sent)
    assert offsets == list(range(1, missed + 3)), offsets  # replay, away-delta, live
    assert all(m["epoch"] == snapshot["epoch"] for m in writer.sent)
    away = [m for m in writer.sent if m["type"] == "delta" and m["offset"] == missed + 1]
    assert [o["id"] for o in away[0]["upserts"]] == ["b"]
