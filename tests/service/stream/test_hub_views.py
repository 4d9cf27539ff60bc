"""The hub without sockets: snapshots, deltas, moves, level of detail, layers, errors."""

from __future__ import annotations

import pytest

from ar_assets.overlay import OverlayKind
from service.auth import Role
from service.stream.hub import HubUnavailable, OverlayHub
from service.stream.protocol import CloseCode
from tests.service.stream.helpers import decode, drain, ids, move, overlay, subscribe


def test_snapshot_then_deltas(hub: OverlayHub) -> None:
    hub.publish([overlay("a", 10), overlay("b", 150), overlay("far", 500)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe(range_m=200))
    [snapshot] = drain(session)
    assert snapshot["type"] == "snapshot"
    assert snapshot["offset"] == 0 and "recovered" not in snapshot
    assert [o["id"] for o in snapshot["overlays"]] == ["a", "b"]  # nearest first
    hub.publish([overlay("a", 10, version=2)], [])
    hub.publish([], ["b"])
    [delta] = drain(session)
    assert delta == {
        "type": "delta",
        "epoch": snapshot["epoch"],
        "offset": 1,
        "upserts": [delta["upserts"][0]],
        "removes": ["b"],
    }
    assert delta["upserts"][0]["id"] == "a" and delta["upserts"][0]["version"] == 2
    hub.publish([overlay("c", -20)], [])
    assert [m["offset"] for m in drain(session)] == [2]


def test_only_changed_overlays_are_sent(hub: OverlayHub) -> None:
    hub.publish([overlay("a", 10), overlay("b", 20)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    hub.publish([overlay("a", 10), overlay("b", 20)], [])  # same versions: nothing new
    hub.publish([overlay("a", 10, version=0)], [])  # an older version is ignored too
    hub.publish([], ["unknown"])
    assert drain(session) == []
    assert not session.has_outgoing


def test_changes_outside_the_range_are_not_sent(hub: OverlayHub) -> None:
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe(range_m=100))
    drain(session)
    hub.publish([overlay("far", 300), overlay("near", 50)], [])
    [delta] = drain(session)
    assert ids(delta["upserts"]) == {"near"}


def test_an_overlay_moving_out_of_range_is_removed(hub: OverlayHub) -> None:
    hub.publish([overlay("a", 50)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe(range_m=100))
    drain(session)
    hub.publish([overlay("a", 400, version=2)], [])
    [delta] = drain(session)
    assert delta["upserts"] == [] and delta["removes"] == ["a"]
    hub.publish([overlay("a", 500, version=3)], [])  # still out of range: nothing
    assert drain(session) == []


def test_move_sends_what_enters_and_what_leaves(hub: OverlayHub) -> None:
    hub.publish([overlay("west", -150), overlay("mid", 0), overlay("east", 150)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe(-90, range_m=100))
    [snapshot] = drain(session)
    assert ids(snapshot["overlays"]) == {"west", "mid"}
    session.receive(move(90))
    [delta] = drain(session)
    assert ids(delta["upserts"]) == {"east"}
    assert set(delta["removes"]) == {"west"}
    session.receive(move(91))  # nothing enters or leaves: no message
    assert drain(session) == []


def test_near_detail_only_close_to_the_viewer(make_hub: type[OverlayHub]) -> None:
    hub = make_hub(near_range_m=60.0)
    hub.publish(
        [
            overlay("ring-close", 40, kind=OverlayKind.TIER_RING),
            overlay("ring-far", 120, kind=OverlayKind.TIER_RING),
            overlay("marker-far", 120),
        ],
        [],
    )
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe(range_m=200))
    assert ids(drain(session)[0]["overlays"]) == {"ring-close", "marker-far"}
    session.receive(move(70))  # ring-far is now 50 m away, ring-close 30 m
    [delta] = drain(session)
    assert ids(delta["upserts"]) == {"ring-far"} and delta["removes"] == []
    narrow = hub.connect(Role.VIEWER)
    narrow.receive(subscribe(range_m=30))  # near reach is min(range, near_range)
    assert ids(drain(narrow)[0]["overlays"]) == set()


def test_layers_filter(hub: OverlayHub) -> None:
    hub.publish(
        [overlay("marker", 10), overlay("heat", 10, kind=OverlayKind.HEAT_PATCH)],
        [],
    )
    towers = hub.connect(Role.VIEWER)
    towers.receive(subscribe(layers=["towers"]))
    heat = hub.connect(Role.VIEWER)
    heat.receive(subscribe(layers=["heat"]))
    assert ids(drain(towers)[0]["overlays"]) == {"marker"}
    assert ids(drain(heat)[0]["overlays"]) == {"heat"}
    hub.publish([overlay("heat", 10, version=2, kind=OverlayKind.HEAT_PATCH)], [])
    assert drain(towers) == []
    assert [d["type"] for d in drain(heat)] == ["delta"]


def test_resubscribe_is_a_new_snapshot_in_the_same_epoch(hub: OverlayHub) -> None:
    hub.publish([overlay("a", 10), overlay("b", 150)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe(range_m=200))
    first = drain(session)[0]
    hub.publish([overlay("a", 10, version=2)], [])  # pending, superseded by the snapshot
    session.receive(subscribe(range_m=50))
    [second] = drain(session)
    assert second["type"] == "snapshot" and second["epoch"] == first["epoch"]
    assert second["offset"] == 1 and ids(second["overlays"]) == {"a"}
    assert second["overlays"][0]["version"] == 2


@pytest.mark.parametrize(
    ("message", "code", "field"),
    [
        ([1, 2], "bad_request", None),
        ({"range_m": 5}, "bad_request", "type"),
        ({"type": "unsubscribe"}, "unknown_type", "type"),
        ({"type": 7}, "unknown_type", "type"),
        (subscribe(range_m=0.5), "bad_request", "range_m"),
        (subscribe(range_m=2001), "bad_request", "range_m"),
        (subscribe(layers=["towers", "rumours"]), "bad_request", "layers.1"),
        (subscribe(convention="webxr"), "bad_request", "convention"),
        (subscribe(resume={"epoch": "x"}), "bad_request", "resume.offset"),
        ({**subscribe(), "colour": "red"}, "bad_request", "colour"),
        ({"type": "subscribe", "range_m": 10}, "bad_request", "viewer"),
        (move(float("nan")), "bad_request", "viewer.position.lon"),
        ({"type": "move", "viewer": {"position": {"lon": 5, "lat": 52}}}, "bad_request", None),
        (move(0), "not_subscribed", "type"),
        ({"type": "auth", "key": "k"}, "bad_request", "type"),
        ({"type": "ping", "id": {"no": 1}}, "bad_request", "id"),
    ],
)
def test_bad_messages_become_error_messages(
    hub: OverlayHub, message: object, code: str, field: str | None
) -> None:
    session = hub.connect(Role.VIEWER)
    session.receive(message)
    [error] = drain(session)
    assert error["type"] == "error" and error["code"] == code
    if field is not None:
        assert error["field"] == field
    assert "rumours" not in error["detail"] and "webxr" not in error["detail"]


def test_invalid_json_is_an_error_not_an_exception(hub: OverlayHub) -> None:
    session = hub.connect(Role.VIEWER)
    session.receive_data(b"{not json")
    session.receive_data("\u00e9")
    assert [e["code"] for e in drain(session)] == ["bad_json", "bad_json"]
    session.receive_data(b'{"type":"ping","id":"x1"}')
    assert drain(session) == [{"type": "pong", "id": "x1"}]


def test_a_failing_serializer_leaves_the_hub_unchanged(hub: OverlayHub) -> None:
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    broken = overlay("bad", 10, oops=object())  # orjson cannot encode it
    with pytest.raises(TypeError):
        hub.publish([overlay("good", 5), broken], [])
    assert hub.stats().overlays == 0 and drain(session) == []


def test_the_hub_refuses_sessions_beyond_its_limit(make_hub: type[OverlayHub]) -> None:
    hub = make_hub(max_sessions=2)
    hub.connect(Role.VIEWER)
    hub.connect(Role.ADMIN)
    with pytest.raises(HubUnavailable) as refused:
        hub.connect(Role.VIEWER)
    assert refused.value.close.code is CloseCode.TRY_AGAIN_LATER


def test_close_all_wakes_every_session_with_going_away(hub: OverlayHub) -> None:
    woken: list[str] = []
    sessions = [hub.connect(Role.VIEWER) for _ in range(3)]
    for i, session in enumerate(sessions):
        session.receive(subscribe())
        drain(session)
        session.set_wakeup(lambda i=i: woken.append(f"s{i}"))
    hub.close_all()
    assert sorted(woken) == ["s0", "s1", "s2"]
    assert all(s.close_reason and s.close_reason.code == 1001 for s in sessions)
    assert hub.stats().subscribed == 0
    with pytest.raises(HubUnavailable):
        hub.connect(Role.VIEWER)


def test_wakeup_once_per_batch(hub: OverlayHub) -> None:
    calls: list[int] = []
    session = hub.connect(Role.VIEWER)
    session.set_wakeup(lambda: calls.append(1))
    session.receive(subscribe())
    hub.publish([overlay("a", 1)], [])
    hub.publish([overlay("b", 2)], [])
    assert len(calls) == 1
    assert [m["type"] for m in decode(session.outgoing())] == ["snapshot", "delta"]
    hub.publish([overlay("c", 3)], [])
    assert len(calls) == 2
