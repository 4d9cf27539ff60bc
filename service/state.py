"""What one running service holds: settings, the store and the current tower layer.

The tower layer (spatial index + district) is rebuilt only when the store's tower
version moves, so observation traffic never pays for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo.district import District
from geo.tower_index import TowerIndex
from service.settings import Settings
from service.store import Store

if TYPE_CHECKING:
    from ar_assets.assets import AssetStore
    from service.fields import FieldEngine

__all__ = ["AppState", "TowerLayer", "TowerLayerCache"]


@dataclass(frozen=True, slots=True)
class TowerLayer:
    """An immutable snapshot of the towers at one version."""

    version: int
    index: TowerIndex
    district: District


class TowerLayerCache:
    """Thread-safe cache of the :class:`TowerLayer` for the store's current tower version."""

    def __init__(self, store: Store, margin_m: float) -> None:
        self._store = store
        self._margin_m = margin_m
        self._lock = threading.Lock()
        self._layer: TowerLayer | None = None

    def current(self) -> TowerLayer:
        """The layer for the latest committed towers."""
        version = self._store.towers_version()
        layer = self._layer
        if layer is not None and layer.version == version:
            return layer
        with self._lock:
            layer = self._layer
            if layer is None or layer.version != version:
                towers = self._store.list_towers()
                district = (
                    District.from_towers(towers, margin_m=self._margin_m)
                    if towers
                    else District.empty()
                )
                layer = TowerLayer(version, TowerIndex(towers, district.frame), district)
                self._layer = layer
            return layer


@dataclass(slots=True)
class AppState:
    """Everything the routers need, built once by ``create_app``."""

    settings: Settings
    store: Store
    towers: TowerLayerCache
    fields: FieldEngine
    assets: AssetStore
