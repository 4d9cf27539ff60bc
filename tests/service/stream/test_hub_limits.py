"""Per-key and per-connection limits of the hub, without sockets (issue 11 finding 3).

Before: a client could send any number of messages (a ``subscribe`` flood sent back
479 MB), one key could hold every session, a revoked key's sessions ran on, and any
key could resume any stream whose epoch it learnt.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.auth import Role
from service.stream.hub import HubUnavailable, OverlayHub
from service.stream.protocol import CloseCode
from tests.service.stream.conftest import FakeClock
from tests.service.stream.helpers import drain, move, overlay, subscribe


def test_a_move_flood_closes_the_session_4029(
    make_hub: Callable[..., OverlayHub], clock: FakeClock
) -> None:
    hub = make_hub(max_messages_per_s=100, message_burst=200)
    session = hub.connect(Role.VIEWER, "k1")
    session.receive(subscribe())
    for i in range(199):  # within the burst: all handled
        session.receive_data(b'{"type": "ping", "id": %d}' % i)
    assert session.close_reason is None
    clock.advance(1.0)  # 100 more tokens
    for i in range(100):
        session.receive(move(float(i % 50)))
    assert session.close_reason is None
    for _ in range(4000):  # 4,000 in no time: over the rate
        session.receive(move(1.0))
    assert session.close_reason is not None
    assert session.close_reason.code is CloseCode.TOO_MANY_MESSAGES
    assert hub.stats().sessions == 0


def test_a_subscribe_flood_gets_a_bounded_number_of_snapshots(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub(max_subscribes_per_s=2, subscribe_burst=10)
    hub.publish([overlay(f"o{i}", i) for i in range(100)], [])
    session = hub.connect(Role.VIEWER, "k1")
    snapshots = 0
    for _ in range(4000):
        session.receive(subscribe())
        snapshots += sum(1 for m in session.outgoing() if m.startswith(b'{"type":"snapshot"'))
    assert snapshots == 10  # the burst; then the client is closed
    assert session.close_reason is not None
    assert session.close_reason.code is CloseCode.TOO_MANY_MESSAGES


def test_one_key_holds_at_most_its_session_cap(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(max_sessions_per_key=2)
    first, _ = hub.connect(Role.VIEWER, "k1"), hub.connect(Role.VIEWER, "k1")
    with pytest.raises(HubUnavailable) as refused:
        hub.connect(Role.VIEWER, "k1")
    assert refused.value.close.code is CloseCode.TOO_MANY_SESSIONS
    hub.connect(Role.VIEWER, "k2")  # another key is not held up
    first.close()
    hub.connect(Role.VIEWER, "k1")


def test_one_key_keeps_at_most_its_cap_of_detached_streams(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub(max_sessions_per_key=2)
    for _ in range(5):
        session = hub.connect(Role.VIEWER, "k1")
        session.receive(subscribe())
        session.detach()
    other = hub.connect(Role.VIEWER, "k2")
    other.receive(subscribe())
    other.detach()
    assert hub.stats().detached == 3  # two of k1 (the newest), one of k2


def test_revoking_a_key_ends_its_sessions_4031_and_its_streams(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub()
    gone, kept = hub.connect(Role.VIEWER, "revoked"), hub.connect(Role.VIEWER, "active")
    for session in (gone, kept):
        session.receive(subscribe())
    parked = hub.connect(Role.VIEWER, "revoked")
    parked.receive(subscribe())
    epoch = parked.epoch
    parked.detach()
    assert hub.revoke(lambda key_id: key_id == "active") == 1
    assert gone.close_reason is not None and gone.close_reason.code is CloseCode.KEY_REVOKED
    assert kept.close_reason is None and hub.stats().detached == 0
    again = hub.connect(Role.VIEWER, "revoked-too")  # a resume of the dropped stream fails
    again.receive(subscribe(resume={"epoch": epoch, "offset": 0}))
    assert drain(again)[0]["recovered"] is False


def test_only_the_key_that_opened_a_stream_may_resume_it(hub: OverlayHub) -> None:
    owner = hub.connect(Role.VIEWER, "alice")
    owner.receive(subscribe())
    epoch = drain(owner)[0]["epoch"]
    owner.detach()
    thief = hub.connect(Role.VIEWER, "mallory")
    thief.receive(subscribe(resume={"epoch": epoch, "offset": 0}))
    [snapshot] = drain(thief)
    assert snapshot["type"] == "snapshot" and snapshot["recovered"] is False
    assert snapshot["epoch"] != epoch
    back = hub.connect(Role.VIEWER, "alice")  # the owner still can
    back.receive(subscribe(resume={"epoch": epoch, "offset": 0}))
    assert drain(back)[0] == {"type": "resumed", "epoch": epoch, "offset": 0, "recovered": True}


def test_a_keys_budget_spans_its_connections_and_reconnects(
    make_hub: Callable[..., OverlayHub], clock: FakeClock
) -> None:
    hub = make_hub(max_messages_per_key_per_s=10, key_message_burst=20)
    sessions = [hub.connect(Role.VIEWER, "k1") for _ in range(4)]
    for i in range(19):  # 19 messages over four connections: within the key's burst
        sessions[i % 4].receive_data(b'{"type": "ping"}')
    assert all(s.close_reason is None for s in sessions)
    sessions[0].receive_data(b'{"type": "ping"}')
    sessions[1].receive_data(b'{"type": "ping"}')  # the 21st message of the key
    assert sessions[1].close_reason is not None
    assert sessions[1].close_reason.code is CloseCode.TOO_MANY_MESSAGES
    fresh = hub.connect(Role.VIEWER, "k1")  # reconnecting does not refill the budget
    fresh.receive_data(b'{"type": "ping"}')
    assert fresh.close_reason is not None
    other = hub.connect(Role.VIEWER, "k2")  # another key has its own budget
    other.receive_data(b'{"type": "ping"}')
    assert other.close_reason is None
    clock.advance(1.0)  # ten tokens later the key may speak again
    again = hub.connect(Role.VIEWER, "k1")
    again.receive_data(b'{"type": "ping"}')
    assert again.close_reason is None


def test_a_key_reconnecting_too_fast_is_refused_4029(
    make_hub: Callable[..., OverlayHub], clock: FakeClock
) -> None:
    hub = make_hub(max_connects_per_key_per_s=5, connect_burst=3)
    for _ in range(3):
        hub.connect(Role.VIEWER, "k1").close()
    with pytest.raises(HubUnavailable) as refused:
        hub.connect(Role.VIEWER, "k1")
    assert refused.value.close.code is CloseCode.TOO_MANY_MESSAGES
    hub.connect(Role.VIEWER, "k2")
    clock.advance(0.2)  # one more token
    hub.connect(Role.VIEWER, "k1")
