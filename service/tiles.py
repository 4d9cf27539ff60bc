"""Glue between the service's data and the tile core (:mod:`geo.tiles`).

:class:`TileSources` keeps, per data version, what many tiles are rendered from: the
field's bands (:class:`geo.tiles.raster.Band`, NaN-padded once), the forecast's
probability band of each day, and the towers and zones as vector features. Tiles
themselves are not cached here: they are rendered on every request that does not
match its ETag, and HTTP caches keep them (``Cache-Control`` + ``ETag``).

The ``forecast`` layer reads the latest finished forecast from any object with a
``latest_probability_grids()`` method (:class:`ProbabilitySource`; the
:class:`service.forecasts.ForecastManager` is one).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pyproj import Transformer

from geo.grid import Grid
from geo.tiles import (
    LAYERS,
    Band,
    VectorFeature,
    band_of,
    tower_features,
    zone_features,
)
from service.fields import FieldSnapshot
from service.state import TowerLayer

__all__ = [
    "CACHE_CONTROL",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "ForecastDays",
    "ProbabilitySource",
    "TileSources",
    "grid_bounds_wgs84",
    "latest_forecast",
    "layer_summary",
    "tile_etag",
]

MIN_ZOOM = 10
"""Lowest zoom level served (a district of a few km is a few pixels below it)."""
MAX_ZOOM = 21
"""Highest zoom level served (a 5 m cell is then about 75 px of a 256 px tile)."""
CACHE_CONTROL = "public, max-age=60, must-revalidate"
"""On 200 tiles only: caches revalidate with the ETag after a minute."""

T = TypeVar("T")


class ProbabilitySource(Protocol):
    """Where the forecast layer's probabilities come from."""

    def latest_probability_grids(self) -> tuple[str, int, list[Grid]] | None:
        """The latest finished forecast: job id, data version, one grid per day (day 1
        first) of probabilities in [0, 1]; ``None`` when no forecast has finished."""


@dataclass(frozen=True, slots=True)
class ForecastDays:
    """The latest finished forecast as the tiles see it."""

    forecast_id: str
    data_version: int
    grids: Sequence[Grid]

    @property
    def days(self) -> list[int]:
        """The forecast days that have a probability grid (1 = the day after the field)."""
        return list(range(1, len(self.grids) + 1))


def tile_etag(layer: str, version: str, params: dict[str, Any]) -> str:
    """A strong ETag from the layer, its data version and every request parameter."""
    text = "&".join(f"{k}={params[k]}" for k in sorted(params))
    digest = hashlib.sha256(f"{layer}|{version}|{text}".encode()).hexdigest()[:20]
    return f'"{layer}-{version}-{digest}"'


class _Lru:
    """A small thread-safe LRU of values built on demand."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                value: T = self._items[key]
                return value
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class TileSources:
    """What tiles are rendered from, built once per data version and kept for a few."""

    def __init__(self, size: int = 16) -> None:
        self._cache = _Lru(size)

    def field_band(self, snapshot: FieldSnapshot, layer: str) -> Band:
        """The band of ``blight`` or ``uncertainty`` for the snapshot's data version."""
        key = ("field", snapshot.data_version, layer)
        return self._cache.get(key, lambda: band_of(snapshot.result.grid, layer))

    def forecast_band(self, forecast: ForecastDays, day: int) -> Band:
        """The probability band of forecast day ``day`` (1-based, checked by the caller)."""
        key = ("forecast", forecast.forecast_id, day)
        return self._cache.get(key, lambda: band_of(forecast.grids[day - 1], "forecast"))

    def features(
        self, layer: str, towers: TowerLayer, snapshot: FieldSnapshot | None
    ) -> list[VectorFeature]:
        """The ``towers`` or ``zones`` features (zones need a field; none without)."""
        version = None if snapshot is None else snapshot.data_version
        key = ("vector", layer, towers.version, version)

        def build() -> list[VectorFeature]:
            if layer == "towers":
                values = None if snapshot is None else snapshot.tier_values
                return tower_features(towers.index.towers, values, version)
            return [] if snapshot is None else zone_features(snapshot.zones, version)

        return self._cache.get(key, build)


def latest_forecast(source: ProbabilitySource | None) -> ForecastDays | None:
    """The latest finished forecast of ``source``, if any."""
    latest = getattr(source, "latest_probability_grids", None)  # absent: no forecasts here
    found = None if latest is None else latest()
    if found is None or not found[2]:
        return None
    forecast_id, version, grids = found
    return ForecastDays(forecast_id, version, tuple(grids))


def layer_summary() -> str:
    """One line per layer, for the OpenAPI description."""
    lines = [f"- `{name}` ({layer.kind}): {layer.description}" for name, layer in LAYERS.items()]
    return "\n".join(lines)


def grid_bounds_wgs84(grid: Grid) -> tuple[float, float, float, float]:
    """The lon/lat bounds of a grid's outline (densified, so no corner is cut)."""
    to_wgs84 = Transformer.from_crs(grid.spec.crs, "EPSG:4326", always_xy=True)
    west, south, east, north = to_wgs84.transform_bounds(*grid.spec.bounds_m, densify_pts=21)
    return (float(west), float(south), float(east), float(north))
