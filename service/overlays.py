"""From field snapshots to AR overlay changes for the stream hub.

After each new field snapshot the publisher rebuilds the complete overlay set
(towers, tiers, heat patches, zones) in a worker thread, lets the catalog keep the
versions of unchanged overlays, and publishes only what changed.
"""

from __future__ import annotations

import statistics

from anyio import to_thread

from ar_assets.assets import AssetStore
from ar_assets.catalog import OverlayCatalog
from ar_assets.overlay import Overlay
from ar_assets.overlays import heat_overlays, tower_overlays, zone_overlays
from service.fields import FieldSnapshot
from service.state import TowerLayer
from service.stream.hub import OverlayHub

__all__ = ["OverlayPublisher", "build_overlays"]


def build_overlays(snapshot: FieldSnapshot, layer: TowerLayer, assets: AssetStore) -> list[Overlay]:
    """Every overlay of the current state (versions are assigned by the catalog)."""
    towers = list(layer.index.towers)
    ground_m = statistics.median(t.base_height_m for t in towers) if towers else 0.0
    return [
        *tower_overlays(
            towers, snapshot.tier_values, assets, interpolated_at=snapshot.result.reference_time
        ),
        *heat_overlays(snapshot.result.grid, snapshot.frame, ground_m, assets),
        *zone_overlays(list(snapshot.zones), snapshot.frame, ground_m, assets),
    ]


class OverlayPublisher:
    """Subscribed to the field engine; feeds the hub with overlay upserts and removes."""

    def __init__(self, hub: OverlayHub, assets: AssetStore) -> None:
        self._hub = hub
        self._assets = assets
        self._catalog = OverlayCatalog()

    async def __call__(self, snapshot: FieldSnapshot, layer: TowerLayer) -> None:
        overlays = await to_thread.run_sync(build_overlays, snapshot, layer, self._assets)
        upserts, removes = self._catalog.update(overlays)
        if upserts or removes:
            self._hub.publish(upserts, removes)
