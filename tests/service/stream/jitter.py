"""A viewer standing still in GPS noise, driven through the hub (no sockets).

Shared by ``tests/service/stream/test_hub_jitter.py`` (a few spots) and
``bench/bench_jitter.py`` (a grid of spots over the demo district): the overlays are
the demo district's, built by the service's own pipeline (``seed_demo``, the field,
``build_overlays``) and serialized by ``overlay_message``; fixes are the true spot
plus normal noise of ``sigma_m`` per axis, one per second on a fake clock, each
reporting the accuracy a phone would (the 68 % radius, 1.51 sigma).
"""

from __future__ import annotations

import math
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import shapely

from ar_assets.assets import AssetStore
from ar_assets.catalog import OverlayCatalog
from ar_assets.overlay import Overlay
from ar_assets.overlays import overlay_message
from service.auth import Role
from service.demo import seed_demo
from service.fields import compute_field
from service.overlays import build_overlays
from service.settings import Settings
from service.state import TowerLayerCache
from service.store.gpkg import GeoPackageStore
from service.stream.hub import OverlayHub
from service.stream.motion import RADIUS68_PER_SIGMA

__all__ = ["District", "StandStill", "demo_district", "stand_still"]

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class District:
    """The demo district's overlays (version 1) and where one can stand (lon/lat)."""

    overlays: tuple[Overlay, ...]
    hull_wgs84: shapely.Polygon
    frame_to_wgs84: Any  # (x_m, y_m) -> (lon, lat) of the district's UTM frame
    hull_local: shapely.Polygon


@cache
def demo_district() -> District:
    """Build the demo district's overlays once per process (a few seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = GeoPackageStore(settings.store_path)
        try:
            seed_demo(store, seed=7, end=END)
            layer = TowerLayerCache(store, settings.district_margin_m).current()
            snapshot = compute_field(store, layer, settings)
            overlays = build_overlays(snapshot, layer, AssetStore(256 << 20))
        finally:
            store.close()
    upserts, _ = OverlayCatalog().update(overlays)
    frame = snapshot.frame
    hull_local = layer.district.hull_local
    return District(tuple(upserts), frame.geometry_to_wgs84(hull_local), frame.to_wgs84, hull_local)


@dataclass(frozen=True)
class StandStill:
    """What a viewer standing still received after its snapshot."""

    enters: int
    leaves: int
    toggled_max: int  # most enter/leave events of a single overlay
    delta_bytes: int
    minutes: float

    @property
    def events(self) -> int:
        """Enter and leave events together."""
        return self.enters + self.leaves

    @property
    def events_per_min(self) -> float:
        """Events per minute of standing still."""
        return self.events / self.minutes


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stand_still(
    district: District,
    spot_lonlat: tuple[float, float],
    *,
    sigma_m: float = 2.5,
    fixes: int = 300,
    seed: int = 0,
    range_m: float = 200.0,
    report_accuracy: bool = True,
    walk_m_per_s: float = 0.0,
    **hub_options: Any,
) -> StandStill:
    """Subscribe at a noisy fix of ``spot_lonlat``, then send ``fixes`` noisy moves, 1/s.

    With ``walk_m_per_s`` the viewer walks east at that speed instead of standing.

    ``hub_options`` go to :class:`OverlayHub` (``hysteresis_m=0, move_deadband_m=0,
    move_smoothing=False`` is the behaviour without hysteresis).
    """
    rng = random.Random(seed)
    clock = _Clock()
    hub = OverlayHub(overlay_message, clock=clock, **hub_options)
    hub.publish(list(district.overlays), [])
    lon0, lat0 = spot_lonlat
    m_per_deg_lat = 111_195.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat0))
    accuracy = sigma_m * RADIUS68_PER_SIGMA

    def fix() -> dict[str, Any]:
        east_m = walk_m_per_s * clock.now + rng.gauss(0.0, sigma_m)
        lon = lon0 + east_m / m_per_deg_lon
        lat = lat0 + rng.gauss(0.0, sigma_m) / m_per_deg_lat
        return {
            "position": {"lon": lon, "lat": lat, "h": 47.0},
            "quaternion": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
        }

    extra = {"accuracy_m": accuracy} if report_accuracy else {}
    session = hub.connect(Role.VIEWER)
    session.receive({"type": "subscribe", "viewer": fix(), "range_m": range_m, **extra})
    session.outgoing()
    enters = leaves = nbytes = 0
    toggles: dict[str, int] = {}
    for _ in range(fixes):
        clock.now += 1.0
        session.receive({"type": "move", "viewer": fix(), **extra})
        for data in session.outgoing():
            message = orjson.loads(data)
            assert message["type"] == "delta", message
            nbytes += len(data)
            enters += len(message["upserts"])
            leaves += len(message["removes"])
            for overlay_id in [o["id"] for o in message["upserts"]] + message["removes"]:
                toggles[overlay_id] = toggles.get(overlay_id, 0) + 1
    return StandStill(enters, leaves, max(toggles.values(), default=0), nbytes, fixes / 60.0)
