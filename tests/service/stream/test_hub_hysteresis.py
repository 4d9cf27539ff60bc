"""Hysteresis, smoothing and deadband of the view (issue 13 finding 1), and what they
must not break: an overlay held in the margin band still gets its new versions and
its removal (no stale or ghost overlays on the client)."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

import pytest

from service.auth import Role
from service.stream.hub import OverlayHub
from service.stream.motion import MotionFilter, MotionSettings, leave_margin_m
from tests.service.stream.conftest import FakeClock
from tests.service.stream.helpers import ORIGIN, drain, lonlat, move, overlay, subscribe

RAW = {"move_deadband_m": 0.0, "move_smoothing": False}  # hysteresis alone


def _move(east_m: float, **extra: Any) -> dict[str, Any]:
    return {**move(east_m), **extra}


def _ids(messages: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    upserts = [o["id"] for m in messages for o in m.get("upserts", m.get("overlays", []))]
    removes = [i for m in messages for i in m.get("removes", [])]
    return upserts, removes


def test_a_held_overlay_leaves_only_beyond_range_plus_margin(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub(hysteresis_m=10.0, **RAW)
    hub.publish([overlay("far", 195)], [])  # a tower marker: reach = range_m = 200
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    assert _ids(drain(session)) == (["far"], [])
    session.receive(move(-12))  # 207 m away: inside the margin, stays
    assert drain(session) == []
    session.receive(move(-16))  # 211 m: beyond 200 + 10, leaves
    assert _ids(drain(session)) == ([], ["far"])
    session.receive(move(-8))  # 203 m: not within reach, does not come back yet
    assert drain(session) == []
    session.receive(move(-4))  # 199 m: enters again
    assert _ids(drain(session)) == (["far"], [])


def test_a_poor_accuracy_widens_the_margin(make_hub: Callable[..., OverlayHub]) -> None:
    hub = make_hub(hysteresis_m=10.0, **RAW)
    hub.publish([overlay("far", 195)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    session.receive(_move(-25, accuracy_m=30.0))  # 220 m, margin 30 m: stays
    assert drain(session) == []
    session.receive(_move(-25, accuracy_m=5.0))  # same place, margin back to 10 m: leaves
    assert _ids(drain(session)) == ([], ["far"])
    assert leave_margin_m(MotionSettings(), 500.0) == MotionSettings().max_margin_m


def test_an_overlay_held_in_the_margin_gets_new_versions_and_removal(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub(hysteresis_m=10.0, **RAW)
    hub.publish([overlay("far", 195), overlay("other", 205)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    assert _ids(drain(session)) == (["far"], [])  # "other" is 205 m away: never entered
    session.receive(move(-8))  # "far" 203 m: held in the band
    assert drain(session) == []
    hub.publish([overlay("far", 195, version=2), overlay("other", 205, version=2)], [])
    [delta] = drain(session)
    assert [(o["id"], o["version"]) for o in delta["upserts"]] == [("far", 2)]  # not "other"
    hub.publish([], ["far", "other"])
    assert _ids(drain(session)) == ([], ["far"])  # no ghost left on the client


def test_a_held_overlay_moving_out_of_the_band_is_removed(
    make_hub: Callable[..., OverlayHub],
) -> None:
    hub = make_hub(hysteresis_m=10.0, **RAW)
    hub.publish([overlay("a", 195)], [])
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    drain(session)
    hub.publish([overlay("a", 205, version=2)], [])  # moved, still within the margin
    assert _ids(drain(session)) == (["a"], [])
    hub.publish([overlay("a", 215, version=3)], [])  # beyond it
    assert _ids(drain(session)) == ([], ["a"])


def test_small_moves_are_coalesced_by_the_deadband(
    make_hub: Callable[..., OverlayHub], clock: FakeClock
) -> None:
    hub = make_hub(hysteresis_m=0.0, move_deadband_m=8.0)
    hub.publish([overlay("edge", 203)], [])  # 3 m beyond the range
    session = hub.connect(Role.VIEWER)
    session.receive(subscribe())
    assert _ids(drain(session)) == ([], [])
    for east in (2.0, -1.0, 3.0, 1.0, 2.5):  # wander within the deadband
        clock.advance(1.0)
        session.receive(_move(east, accuracy_m=3.8))
        assert drain(session) == []
    for _ in range(15):  # then really walk 20 m east: the view follows
        clock.advance(1.0)
        session.receive(_move(20.0, accuracy_m=3.8))
    assert _ids(drain(session)) == (["edge"], [])


def test_the_filter_averages_noise_and_follows_jumps() -> None:
    rng = random.Random(5)
    settings = MotionSettings()
    lon0, lat0 = ORIGIN
    motion = MotionFilter(settings, lon0, lat0, 3.8, t_s=0.0)
    raw, smooth = [], []
    for t in range(1, 301):
        lon, lat = lonlat(rng.gauss(0.0, 2.5), rng.gauss(0.0, 2.5))
        motion.update(lon, lat, 3.8, t_s=float(t))
        raw.append(MotionFilter(settings, lon0, lat0, None, 0.0).distance_m(lon, lat))
        smooth.append(motion.distance_m(lon0, lat0))
    assert statistics.mean(smooth) < 0.6 * statistics.mean(raw)
    far = lonlat(500.0, 0.0)  # a jump far beyond the noise: taken as it is
    assert motion.update(*far, 3.8, t_s=301.0) == far
    assert motion.distance_m(*far) == pytest.approx(0.0, abs=1e-6)
