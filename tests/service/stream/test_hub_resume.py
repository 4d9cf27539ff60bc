"""Resume: exactly the missed messages, or a fresh snapshot; never a gap or a partial replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.auth import Role
from service.stream.hub import OverlayHub
from tests.service.stream.conftest import FakeClock
from tests.service.stream.helpers import drain, ids, overlay, subscribe


def _resume(epoch: str, offset: int, **extra: Any) -> dict[str, Any]:
    return subscribe(resume={"epoch": epoch, "offset": offset}, **extra)


def _apply(state: dict[str, int], messages: list[dict[str, Any]]) -> None:
    """What a client does: replace on snapshot, apply upserts and removes on delta."""
    for m in messages:
        if m["type"] == "snapshot":
            state.clear()
            state.update({o["id"]: o["version"] for o in m["overlays"]})
        elif m["type"] == "delta":
            state.update({o["id"]: o["version"] for o in m["upserts"]})
            for gone in m["removes"]:
                state.pop(gone, None)


def test_resume_replays_exactly_the_missed_messages(hub: OverlayHub) -> None:
    hub.publish([overlay("a", 10)], [])
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe())
    client: dict[str, int] = {}
    received = drain(first)
    _apply(client, received)
    epoch = received[0]["epoch"]
    hub.publish([overlay("a", 10, version=2)], [])
    lost = drain(first)  # handed to the socket, never reached the client
    assert [m["offset"] for m in lost] == [1]
    first.detach()
    hub.publish([overlay("b", 20)], [])  # while detached
    hub.publish([], ["a"])
    second = hub.connect(Role.VIEWER)
    second.receive(_resume(epoch, 0))
    replay = drain(second)
    assert replay[0] == {"type": "resumed", "epoch": epoch, "offset": 0, "recovered": True}
    assert [(m["type"], m["offset"]) for m in replay[1:]] == [("delta", 1), ("delta", 2)]
    _apply(client, replay)
    assert client == {"b": 1}
    hub.publish([overlay("c", 30)], [])  # then it continues live, same epoch
    [live] = drain(second)
    assert (live["epoch"], live["offset"]) == (epoch, 3)


def test_resume_matches_a_client_that_never_disconnected(hub: OverlayHub) -> None:
    """The state after resume equals the state of a session that saw everything."""
    steady = hub.connect(Role.VIEWER)
    steady.receive(subscribe())
    flaky = hub.connect(Role.VIEWER)
    flaky.receive(subscribe())
    steady_state: dict[str, int] = {}
    flaky_state: dict[str, int] = {}
    _apply(steady_state, drain(steady))
    msgs = drain(flaky)
    _apply(flaky_state, msgs)
    epoch, offset = msgs[-1]["epoch"], msgs[-1]["offset"]
    for round_no in range(1, 30):
        hub.publish([overlay(f"o{round_no % 7}", round_no * 5, version=round_no)], [])
        if round_no % 5 == 0:
            hub.publish([], [f"o{(round_no + 3) % 7}"])
        _apply(steady_state, drain(steady))
        if round_no % 4 == 0:  # the flaky client loses its socket now and then
            got = drain(flaky)[:1]  # only the first message of the batch arrives
            _apply(flaky_state, got)
            if got:
                offset = got[-1]["offset"]
            flaky.detach()
            flaky = hub.connect(Role.VIEWER)
            flaky.receive(_resume(epoch, offset))
            replay = drain(flaky)
            assert replay[0]["type"] == "resumed"
            _apply(flaky_state, replay)
            offset = max(
                (m["offset"] for m in replay if "offset" in m and m["type"] != "resumed"),
                default=offset,
            )
        else:
            got = drain(flaky)
            _apply(flaky_state, got)
            if got:
                offset = got[-1]["offset"]
    assert flaky_state == steady_state


def test_resume_without_history_gives_a_fresh_snapshot(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(history_len=2)
    hub.publish([overlay("a", 10)], [])
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe())
    epoch = drain(first)[0]["epoch"]
    for v in range(2, 6):  # offsets 1..4; only 3 and 4 are kept
        hub.publish([overlay("a", 10, version=v)], [])
        drain(first)
    first.detach()
    second = hub.connect(Role.VIEWER)
    second.receive(_resume(epoch, 1))  # 2 is gone: no partial recovery
    [snapshot] = drain(second)
    assert snapshot["type"] == "snapshot" and snapshot["recovered"] is False
    assert snapshot["epoch"] != epoch and snapshot["offset"] == 0
    assert [o["version"] for o in snapshot["overlays"]] == [5]


def test_resume_of_an_unknown_epoch_or_future_offset_is_a_fresh_snapshot(hub: OverlayHub) -> None:
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe())
    epoch = drain(first)[0]["epoch"]
    first.detach()
    for resume in ({"epoch": "nope", "offset": 0}, {"epoch": epoch, "offset": 9}):
        session = hub.connect(Role.VIEWER)
        session.receive(subscribe(resume=resume))
        [snapshot] = drain(session)
        assert snapshot["recovered"] is False and snapshot["epoch"] != epoch


def test_resume_after_the_ttl_fails(hub: OverlayHub, clock: FakeClock) -> None:
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe())
    epoch = drain(first)[0]["epoch"]
    first.detach()
    clock.advance(hub.detached_ttl_s + 1)
    hub.sweep()
    assert hub.stats().detached == 0
    second = hub.connect(Role.VIEWER)
    second.receive(_resume(epoch, 0))
    assert drain(second)[0]["recovered"] is False


def test_at_most_max_detached_are_kept_oldest_dropped(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(max_detached=2)
    epochs = []
    for _ in range(3):
        s = hub.connect(Role.VIEWER)
        s.receive(subscribe())
        epochs.append(drain(s)[0]["epoch"])
        s.detach()
    assert hub.stats().detached == 2
    for epoch, recovered in zip(epochs, (False, True, True), strict=True):
        s = hub.connect(Role.VIEWER)
        s.receive(_resume(epoch, 0))
        first = drain(s)[0]
        assert first["recovered"] is recovered


def test_resume_with_another_convention_is_a_fresh_snapshot(hub: OverlayHub) -> None:
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe(convention="arcore"))
    epoch = drain(first)[0]["epoch"]
    first.detach()
    second = hub.connect(Role.VIEWER)
    second.receive(_resume(epoch, 0, convention="geopose"))
    [snapshot] = drain(second)
    assert snapshot["recovered"] is False and snapshot["convention"] == "geopose"


def test_resume_with_a_new_viewer_sends_what_entered_and_left(hub: OverlayHub) -> None:
    hub.publish([overlay("west", -150), overlay("east", 150)], [])
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe(-100, range_m=100))
    epoch = drain(first)[0]["epoch"]
    first.detach()
    second = hub.connect(Role.VIEWER)
    second.receive(_resume(epoch, 0, east_m=100, range_m=100))
    resumed, delta = drain(second)
    assert resumed["type"] == "resumed"
    assert ids(delta["upserts"]) == {"east"} and delta["removes"] == ["west"]


def test_resume_takes_over_a_connection_not_yet_known_dead(hub: OverlayHub) -> None:
    old = hub.connect(Role.VIEWER)
    old.receive(subscribe())
    epoch = drain(old)[0]["epoch"]
    new = hub.connect(Role.VIEWER)
    new.receive(_resume(epoch, 0))
    assert drain(new)[0]["recovered"] is True
    assert old.close_reason is not None and old.close_reason.code == 4009
    hub.publish([overlay("a", 1)], [])
    assert [m["type"] for m in drain(new)] == ["delta"]
    assert all(b'"delta"' not in m for m in old.outgoing())


def test_a_closed_session_cannot_be_resumed(hub: OverlayHub) -> None:
    first = hub.connect(Role.VIEWER)
    first.receive(subscribe())
    epoch = drain(first)[0]["epoch"]
    first.close()
    second = hub.connect(Role.VIEWER)
    second.receive(_resume(epoch, 0))
    assert drain(second)[0]["recovered"] is False
