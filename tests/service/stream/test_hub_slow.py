"""Slow clients: coalescing, stall detection, bounded memory, shared bytes."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

from ar_assets.overlay import Convention
from service.auth import Role
from service.stream.hub import OverlayHub
from tests.service.stream.conftest import FakeClock
from tests.service.stream.helpers import drain, ids, overlay, subscribe


def test_pending_changes_keep_only_the_latest_version(hub: OverlayHub) -> None:
    hub.publish([overlay("x", 10), overlay("y", 20)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    for v in (2, 3, 4):
        hub.publish([overlay("x", 10, version=v)], [])
    hub.publish([overlay("y", 20, version=2)], [])
    hub.publish([], ["y"])  # upsert then remove: just the remove
    hub.publish([overlay("z", 30)], [])
    hub.publish([], ["z"])
    [delta] = drain(session)
    assert [(o["id"], o["version"]) for o in delta["upserts"]] == [("x", 4)]
    assert sorted(delta["removes"]) == ["y", "z"]


def test_remove_then_upsert_is_an_upsert(hub: OverlayHub) -> None:
    hub.publish([overlay("x", 10)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    hub.publish([], ["x"])
    hub.publish([overlay("x", 12, version=2)], [])
    [delta] = drain(session)
    assert ids(delta["upserts"]) == {"x"} and delta["removes"] == []


def test_the_same_bytes_go_to_every_session(hub: OverlayHub) -> None:
    sessions = [hub.connect(Role.VIEWER) for _ in range(4)]
    for s in sessions:
        s.receive(subscribe())
        drain(s)
    hub.publish([overlay("x", 10)], [])
    fragments = [s.pending()["x"] for s in sessions]
    assert fragments[0] is not None
    assert all(f is fragments[0] for f in fragments)  # one object, not equal copies
    messages = [s.outgoing()[0] for s in sessions]
    assert all(fragments[0] in m for m in messages)


def test_each_version_is_serialized_once_per_convention(
    make_hub: Callable[..., OverlayHub],
) -> None:
    calls: list[tuple[str, int, Convention]] = []

    def counting(item, convention):  # type: ignore[no-untyped-def]
        calls.append((item.id, item.version, convention))
        return {"id": item.id, "version": item.version}

    hub = make_hub()
    hub._serialize = counting  # a spy around the stand-in
    for i in range(6):
        s = hub.connect(Role.VIEWER)
        s.receive(subscribe(convention="arkit" if i % 2 else "geopose"))
    hub.publish([overlay("x", 10)], [])
    hub.publish([overlay("x", 10, version=2)], [])
    late = hub.connect(Role.VIEWER)
    late.receive(subscribe(convention="arkit"))  # cached: no new call
    assert sorted(calls) == sorted(
        [("x", v, c) for v in (1, 2) for c in (Convention.GEOPOSE, Convention.ARKIT)]
    )
    assert hub.stats().fragments == 2  # version 1 evicted


def test_a_session_over_its_outbox_limit_is_stalled(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(outbox_limit=5)
    slow, fast = hub.connect(Role.VIEWER), hub.connect(Role.VIEWER)
    woken: list[str] = []
    slow.set_wakeup(lambda: woken.append("slow"))
    for s in (slow, fast):
        s.receive(subscribe())
        drain(s)
    for i in range(10):
        hub.publish([overlay(f"o{i}", i)], [])
        assert len(drain(fast)) == 1  # the fast one is never held back
    assert slow.stalled and slow.close_reason is not None
    assert slow.close_reason.code == 4008 and woken[-1] == "slow"
    assert not slow.subscribed and slow.pending_bytes == 0
    assert hub.stats().subscribed == 1


def test_a_session_whose_changes_wait_too_long_is_stalled(
    make_hub: Callable[..., OverlayHub], clock: FakeClock
) -> None:
    hub = make_hub(stall_timeout_s=5.0)
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    hub.publish([overlay("a", 1)], [])
    clock.advance(4.0)
    hub.sweep()
    assert not session.stalled
    clock.advance(2.0)
    hub.sweep()
    assert session.stalled


def test_a_session_that_drains_is_never_stalled(
    make_hub: Callable[..., OverlayHub], clock: FakeClock
) -> None:
    hub = make_hub(stall_timeout_s=5.0)
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    for v in range(1, 20):
        hub.publish([overlay("a", 1, version=v)], [])
        clock.advance(1.0)
        drain(session)
        hub.sweep()
    assert not session.stalled


def test_memory_stays_bounded_with_a_session_that_never_drains(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub(outbox_limit=1000, outbox_max_bytes=200_000, history_max_bytes=50_000)
    idle = hub.connect(Role.VIEWER)
    idle.receive(subscribe())
    reader = hub.connect(Role.VIEWER)
    reader.receive(subscribe())
    payload = "x" * 500
    peak = 0
    tracemalloc.start()
    try:
        for round_no in range(400):
            batch = [overlay(f"o{i}", i % 150, version=round_no + 1, p=payload) for i in range(20)]
            hub.publish(batch, [])
            reader.outgoing()
            peak = max(peak, idle.pending_bytes)
            if round_no == 50:
                base, _ = tracemalloc.get_traced_memory()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Coalescing: 20 overlays in view, so the idle outbox never holds more than 20 entries.
    assert idle.pending_entries <= 21 and not idle.stalled
    assert peak <= 20 * 800  # the snapshot (never taken) plus 20 fragments of ~700 bytes
    assert current - base < 200_000  # no growth with the number of rounds
    hub.publish([overlay(f"n{i}", 50, p=payload) for i in range(2000)], [])  # more than allowed
    assert idle.stalled and idle.pending_bytes == 0
    assert hub.stats().pending_bytes < 2_000_000


def test_a_detached_stream_past_its_limits_is_dropped(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(outbox_limit=3)
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    epoch = drain(session)[0]["epoch"]
    session.detach()
    for i in range(5):
        hub.publish([overlay(f"o{i}", i)], [])
    assert hub.stats().detached == 0
    again = hub.connect(Role.VIEWER)
    again.receive(subscribe(resume={"epoch": epoch, "offset": 0}))
    assert drain(again)[0]["recovered"] is False


def test_many_pings_without_reading_stall_the_session(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(outbox_limit=50)
    session = hub.connect(Role.VIEWER)
    for _ in range(100):
        session.receive({"type": "ping"})
    assert session.stalled and session.pending_bytes == 0
