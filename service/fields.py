"""The blight field of the current data: computed off the event loop, cached by version.

:func:`compute_field` is plain, blocking glue (store -> geo); :class:`FieldEngine`
runs it in a worker thread, keeps the snapshot of the newest data version, and
recomputes shortly after new data arrives (debounced: a burst of batches costs one
computation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from anyio import to_thread
from threadpoolctl import threadpool_limits

from geo.crs import LocalFrame
from geo.errors import GeoError, TooFewObservations
from geo.grid import GridSpec
from geo.interpolate import (
    IDWParams,
    InterpolationResult,
    KrigingParams,
    SampleOptions,
    Samples,
    interpolate,
    prepare_samples,
)
from geo.zones import RemedyZone, ZoneOptions, remedy_zones
from service.settings import Settings
from service.state import TowerLayer, TowerLayerCache
from service.store import ObservationQuery, Store

__all__ = ["FieldEngine", "FieldSnapshot", "compute_field", "field_samples"]

log = logging.getLogger("blightmap.fields")
TierKey = tuple[str, int]
Listener = Callable[["FieldSnapshot", TowerLayer], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FieldSnapshot:
    """The field, per-tier values and remedy zones for one data version."""

    data_version: int
    computed_at: datetime
    frame: LocalFrame
    result: InterpolationResult
    tier_values: dict[TierKey, tuple[float, float]]
    zones: tuple[RemedyZone, ...]

    def metadata(self) -> dict[str, Any]:
        """JSON-safe description: method, parameters, scores, version, bounds."""
        r = self.result
        spec = r.grid.spec
        minx, miny, maxx, maxy = spec.bounds_m
        lons, lats = self.frame.to_wgs84(np.array([minx, maxx]), np.array([miny, maxy]))
        return {
            "data_version": self.data_version,
            "computed_at": _iso(self.computed_at),
            "reference_time": _iso(r.reference_time),
            "method": r.method,
            "parameters": dict(r.parameters),
            "fallback": r.fallback,
            "cross_validation": {
                name: {k: v for k, v in vars_of(cv).items()} for name, cv in r.cv.items()
            },
            "n_samples": r.n_samples,
            "crs": f"EPSG:{self.frame.epsg}" if self.frame.epsg else self.frame.crs.to_wkt(),
            "resolution_m": spec.resolution_m,
            "width": spec.width,
            "height": spec.height,
            "transform": list(spec.transform)[:6],
            "bounds_local": [minx, miny, maxx, maxy],
            "bbox_wgs84": [float(lons[0]), float(lats[0]), float(lons[1]), float(lats[1])],
            "zones": len(self.zones),
        }


def vars_of(obj: Any) -> dict[str, Any]:
    """Fields of a slotted dataclass as a dict."""
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def field_samples(store: Store, layer: TowerLayer, settings: Settings) -> Samples:
    """The samples the field interpolates: the window before the newest observation.

    Raises
    ------
    TooFewObservations
        When the district has no towers yet or fewer than 3 usable observations.
    """
    frame = layer.district.frame
    latest = store.latest_observation_time()
    if frame is None or latest is None:
        raise TooFewObservations(
            "a field needs towers and at least 3 recent observations", "observations"
        )
    start = latest - timedelta(days=settings.field_window_days)
    observations = store.query_observations(ObservationQuery(start=start, limit=10**9)).items
    options = SampleOptions(
        window_days=settings.field_window_days,
        half_life_days=settings.field_half_life_days,
        vertical_scale=settings.field_vertical_scale,
    )
    return prepare_samples(observations, frame, layer.index, options, reference_time=latest)


def compute_field(store: Store, layer: TowerLayer, settings: Settings) -> FieldSnapshot:
    """Interpolate the current observations and derive per-tier values and zones.

    Raises
    ------
    TooFewObservations
        When the district has no towers yet or fewer than 3 usable observations.
    """
    version = store.data_version()
    samples = field_samples(store, layer, settings)
    frame = layer.district.frame
    assert frame is not None  # field_samples refuses a district without towers
    hull = layer.district.hull_local
    spec = GridSpec.covering(
        frame.crs, hull.bounds, settings.field_resolution_m, settings.field_pad_m
    )
    keys, targets = _tier_targets(layer, frame)
    # One BLAS thread: the kriging's matrices are small and many, and OpenBLAS's extra
    # threads spin (on the shared 2-core machine the field cost 3x the CPU with them).
    with threadpool_limits(limits=1, user_api="blas"):
        result = interpolate(
            samples,
            spec,
            targets,
            method=settings.field_method,
            idw=IDWParams(),
            kriging=KrigingParams(),
        )
    tier_values = {
        key: (float(v), float(se))
        for key, v, se in zip(keys, result.targets_value, result.targets_se, strict=True)
    }
    zones = remedy_zones(
        result.grid,
        frame,
        layer.index,
        tier_values,
        ZoneOptions(thresholds=settings.zone_thresholds, margin_m=settings.zone_margin_m),
    )
    return FieldSnapshot(version, datetime.now(UTC), frame, result, tier_values, tuple(zones))


def _tier_targets(layer: TowerLayer, frame: LocalFrame) -> tuple[list[TierKey], np.ndarray]:
    keys: list[TierKey] = []
    rows: list[tuple[float, float, float]] = []
    for tower in layer.index.towers:
        lon, lat = tower.centroid_lonlat
        x, y = frame.to_local(lon, lat)
        for tier in tower.tiers:
            keys.append((tower.id, tier.level))
            rows.append((float(x), float(y), tier.height_m))
    return keys, np.array(rows, dtype=np.float64).reshape(-1, 3)


class FieldEngine:
    """Keeps the field of the newest data version; computes in a worker thread."""

    def __init__(self, store: Store, towers: TowerLayerCache, settings: Settings) -> None:
        self._store = store
        self._towers = towers
        self._settings = settings
        self._snapshot: FieldSnapshot | None = None
        self._failure: tuple[int, GeoError] | None = None
        self._lock: asyncio.Lock | None = None
        self._pending: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []
        self._timers: list[Callable[[float], None]] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(snapshot, tower_layer)`` on the event loop after each new snapshot."""
        self._listeners.append(listener)

    def on_computed(self, timer: Callable[[float], None]) -> None:
        """Call ``timer(seconds)`` with the duration of each successful computation."""
        self._timers.append(timer)

    @property
    def latest(self) -> FieldSnapshot | None:
        """The last computed snapshot (possibly of an older version), without waiting."""
        return self._snapshot

    async def current(self) -> FieldSnapshot:
        """The snapshot of the store's current data version, computing it if needed.

        Raises
        ------
        GeoError
            When the data cannot give a field (too few observations...).
        """
        version = await to_thread.run_sync(self._store.data_version)
        cached = self._cached(version)
        if cached is not None:
            return cached
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            version = await to_thread.run_sync(self._store.data_version)
            cached = self._cached(version)
            if cached is not None:
                return cached
            layer = self._towers.current()
            started = time.perf_counter()
            try:
                snapshot = await to_thread.run_sync(
                    compute_field, self._store, layer, self._settings
                )
            except GeoError as exc:
                self._failure = (version, exc)
                raise
            for timer in self._timers:
                timer(time.perf_counter() - started)
            self._snapshot, self._failure = snapshot, None
            for listener in self._listeners:
                try:
                    await listener(snapshot, layer)
                except Exception:  # a listener's failure must not lose the field
                    log.exception("field listener failed")
            return snapshot

    async def current_or_none(self) -> FieldSnapshot | None:
        """:meth:`current`, or ``None`` when the data cannot give a field yet."""
        try:
            return await self.current()
        except GeoError:
            return None

    def _cached(self, version: int) -> FieldSnapshot | None:
        if self._failure is not None and self._failure[0] == version:
            raise self._failure[1]
        snapshot = self._snapshot
        return snapshot if snapshot is not None and snapshot.data_version >= version else None

    def notify(self) -> None:
        """New data arrived: recompute after the debounce delay (one run per burst)."""
        if self._pending is not None and not self._pending.done():
            return
        self._pending = asyncio.get_running_loop().create_task(self._refresh_later())

    async def _refresh_later(self) -> None:
        while True:
            await asyncio.sleep(self._settings.field_debounce_s)
            try:
                snapshot = await self.current()
            except GeoError as exc:
                log.info("no field for the current data: %s", exc.reason)
                return
            # Data that arrived while we computed is picked up by another round.
            if await to_thread.run_sync(self._store.data_version) <= snapshot.data_version:
                return

    async def aclose(self) -> None:
        """Cancel a pending recomputation (on shutdown)."""
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending
