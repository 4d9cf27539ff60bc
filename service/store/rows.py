"""Row conversions both store backends share (GeoPackage and PostGIS differ only in how
they encode geometries and timestamps)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import shapely
import shapely.errors
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoError
from geo.layer import Tier, Tower
from service.store.base import StoreError

__all__ = ["to_json", "tower_from_values"]


def to_json(value: Any, what: str) -> str:
    """``value`` as compact JSON text; :class:`StoreError` naming ``what`` if it is not
    JSON-serializable (NaN included)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serializable: {exc}") from exc


def tower_from_values(
    tower_id: str,
    name: str | None,
    district: str | None,
    base_height_m: float,
    height_m: float,
    tiers_json: str | None,
    extra_json: str | None,
    footprint: Callable[[], BaseGeometry],
) -> Tower:
    """Rebuild a :class:`Tower` from its stored columns; ``footprint`` decodes the
    backend's geometry.

    Raises
    ------
    StoreError
        If the row was edited into something that is not a valid tower.
    """
    try:
        return Tower(
            id=tower_id,
            name=name or "",
            district=district or "",
            base_height_m=base_height_m,
            height_m=height_m,
            tiers=tuple(
                Tier(level=int(t["level"]), height_m=float(t["height_m"]), crop=t.get("crop", ""))
                for t in json.loads(tiers_json or "[]")
            ),
            extra=json.loads(extra_json) if extra_json else {},
            footprint_wgs84=footprint(),
        )
    except (GeoError, ValueError, TypeError, KeyError, shapely.errors.GEOSException) as exc:
        raise StoreError(f"stored tower {tower_id!r} is not readable: {exc}") from exc
