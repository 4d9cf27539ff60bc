"""Near detail by distance to the overlay's footprint, not its anchor (issue 13 finding 2).

The overlays come from the real builders (heat patches, zones, tier rings in UTM 31N
around Utrecht) and are serialized by ``overlay_message``; the hub is tested both
ways an overlay reaches a view: the snapshot of a subscribe, and the fan-out of a
publish to views that exist already.
"""

from __future__ import annotations

from typing import Any

import pytest
import shapely

from ar_assets.assets import AssetStore
from ar_assets.overlay import Overlay
from ar_assets.overlays import heat_overlays, overlay_message, tower_overlays, zone_overlays
from service.auth import Role
from service.stream.hub import OverlayHub
from tests.ar_assets.conftest import FRAME, GROUND_M, X0, Y0, make_grid, make_zone, square_tower
from tests.service.stream.helpers import drain

# Four heat tiles of 100 m (two of them half tiles) meeting at (649_900, 5_773_100).
GRID = make_grid(649_800.0, 5_773_200.0, 100, 75)
CORNER = (649_900.0, 5_773_100.0)
# A 400 m x 185 m zone (74,000 m^2) centred on (X0, Y0).
BIG_ZONE = shapely.box(X0 - 200.0, Y0 - 92.5, X0 + 200.0, Y0 + 92.5)


def _viewer(x_m: float, y_m: float) -> dict[str, Any]:
    lon, lat = FRAME.to_wgs84(x_m, y_m)
    return {
        "position": {"lon": float(lon), "lat": float(lat), "h": GROUND_M},
        "quaternion": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }


def _seen(overlays: list[Overlay], x_m: float, y_m: float, *, publish_first: bool) -> set[str]:
    """Ids a viewer at (x_m, y_m) of the frame holds, range 200 m, near range 60 m."""
    hub = OverlayHub(overlay_message, near_range_m=60.0)
    versioned = [Overlay(**{**_fields(o), "version": 1}) for o in overlays]
    if publish_first:
        hub.publish(versioned, [])
    session = hub.connect(Role.VIEWER)
    session.receive({"type": "subscribe", "viewer": _viewer(x_m, y_m), "range_m": 200})
    if not publish_first:
        hub.publish(versioned, [])
    held: set[str] = set()
    for message in drain(session):
        items = message.get("overlays", message.get("upserts", []))
        held |= {o["id"] for o in items}
    return held


def _fields(overlay: Overlay) -> dict[str, Any]:
    return {f: getattr(overlay, f) for f in overlay.__dataclass_fields__}


@pytest.fixture
def store() -> AssetStore:
    return AssetStore(64 << 20)


@pytest.mark.parametrize("publish_first", [True, False], ids=["snapshot", "fan-out"])
def test_all_four_heat_patches_at_their_common_corner(
    store: AssetStore, publish_first: bool
) -> None:
    patches = heat_overlays(GRID, FRAME, GROUND_M, store)
    assert len(patches) == 4
    assert _seen(patches, *CORNER, publish_first=publish_first) == {o.id for o in patches}
    # 61 m east of the tiles' east edge: the nearest patch is beyond the near range
    assert _seen(patches, 650_000.0 + 61.0, 5_773_100.0, publish_first=publish_first) == set()


@pytest.mark.parametrize("publish_first", [True, False], ids=["snapshot", "fan-out"])
def test_inside_a_large_zone_far_from_its_centroid(store: AssetStore, publish_first: bool) -> None:
    zones = zone_overlays([make_zone("zone-big", BIG_ZONE)], FRAME, GROUND_M, store)
    inside = (X0 + 150.0, Y0 + 50.0)  # 158 m from the centroid, inside the zone
    assert BIG_ZONE.contains(shapely.Point(inside))
    assert _seen(zones, *inside, publish_first=publish_first) == {"zone:zone-big"}
    outside = (X0 + 262.0, Y0)  # 62 m beyond the east edge
    assert _seen(zones, *outside, publish_first=publish_first) == set()


def test_a_ring_counts_from_its_rim(store: AssetStore) -> None:
    tower = square_tower("T1", 0.0, 0.0, half_m=5.0, tiers=1)  # ring radius 5 sqrt 2 + 1 m
    overlays = tower_overlays([tower], None, store)
    ring_id = "tier:T1:0"
    assert _seen(overlays, X0 + 66.0, Y0, publish_first=True) >= {ring_id}  # 58 m from rim
    assert ring_id not in _seen(overlays, X0 + 70.0, Y0, publish_first=True)  # 62 m


def test_footprint_moves_with_a_new_version() -> None:
    """A held zone whose new version no longer reaches the viewer is removed."""
    store = AssetStore(64 << 20)
    hub = OverlayHub(overlay_message, near_range_m=60.0, hysteresis_m=0.0)
    big = zone_overlays([make_zone("z", BIG_ZONE)], FRAME, GROUND_M, store)[0]
    hub.publish([Overlay(**{**_fields(big), "version": 1})], [])
    session = hub.connect(Role.VIEWER)
    session.receive({"type": "subscribe", "viewer": _viewer(X0 + 150.0, Y0 + 50.0), "range_m": 200})
    assert [o["id"] for o in drain(session)[0]["overlays"]] == ["zone:z"]
    small = zone_overlays(
        [make_zone("z", shapely.box(X0 - 20, Y0 - 20, X0 + 20, Y0 + 20))], FRAME, GROUND_M, store
    )[0]
    hub.publish([Overlay(**{**_fields(small), "version": 2})], [])
    [delta] = drain(session)
    assert delta["removes"] == ["zone:z"] and delta["upserts"] == []
