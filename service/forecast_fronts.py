"""The latest finished forecast's fronts as OGC API - Features items.

:class:`service.forecasts.ForecastManager` writes the fronts of each finished forecast
to :func:`service.forecasts.fronts_path`; this module reads them back (cached by file
modification time) and turns each front into a feature with a stable id
``<forecast id>-d<day>-p<level in percent>``, RFC 7946 ring orientation (exterior
rings counter-clockwise) and the properties ``day``, ``level``, ``forecast_id``,
``data_version``, ``valid_at`` (forecast start + day), ``area_m2`` and ``towers``.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient

from service.forecasts import fronts_path
from service.ogc import bad_param

__all__ = ["FrontsFilter", "front_features", "parse_fronts_filter"]

Feature = dict[str, Any]
FrontsFilter = tuple[int | None, float | None]

_lock = threading.Lock()
_cache: dict[Path, tuple[float, list[Feature]]] = {}


def _rfc7946(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry with exterior rings counter-clockwise and holes clockwise; a
    Polygon becomes a one-part MultiPolygon (the collection holds one type)."""
    geom = shape(geometry)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return dict(mapping(MultiPolygon([orient(p, 1.0) for p in geom.geoms])))
    return geometry


def _features(body: dict[str, Any]) -> list[Feature]:
    forecast_id = str(body["forecast_id"])
    start = datetime.fromisoformat(str(body["start"])) if body.get("start") else None
    out = []
    for front in body["fronts"]["features"]:
        props = front["properties"]
        day, level = int(props["day"]), float(props["level"])
        valid = start + timedelta(days=day) if start is not None else None
        out.append(
            {
                "type": "Feature",
                "id": f"{forecast_id}-d{day}-p{round(level * 100)}",
                "geometry": _rfc7946(front["geometry"]),
                "properties": {
                    "day": day,
                    "level": level,
                    "forecast_id": forecast_id,
                    "data_version": int(body["data_version"]),
                    "valid_at": valid.isoformat().replace("+00:00", "Z") if valid else None,
                    "area_m2": props.get("area_m2"),
                    "towers": props.get("towers", []),
                },
            }
        )
    return out


def _load(data_dir: Path) -> list[Feature]:
    path = fronts_path(data_dir)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return []
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    try:
        features = _features(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return []  # being replaced, or from an older format: nothing to show
    with _lock:
        _cache[path] = (mtime, features)
    return features


def parse_fronts_filter(filters: dict[str, str]) -> FrontsFilter:
    """``day`` (an integer >= 1) and ``level`` (a probability in (0, 1]) query values;
    400 naming the parameter when malformed."""
    day = level = None
    if "day" in filters:
        raw = filters["day"].strip()
        if not raw.isdigit() or int(raw) < 1:
            raise bad_param("day", "must be a whole number >= 1")
        day = int(raw)
    if "level" in filters:
        try:
            level = float(filters["level"])
        except ValueError:
            raise bad_param("level", "must be a number within (0, 1]") from None
        if not (math.isfinite(level) and 0.0 < level <= 1.0):
            raise bad_param("level", "must be a number within (0, 1]")
    return day, level


def front_features(
    data_dir: Path,
    selection: FrontsFilter = (None, None),
    bbox_crs84: tuple[float, float, float, float] | None = None,
) -> list[Feature]:
    """The latest forecast's fronts, filtered by day, level and bounding box (copies)."""
    day, level = selection
    area = shapely.box(*bbox_crs84) if bbox_crs84 is not None else None
    out = []
    for f in _load(data_dir):
        props = f["properties"]
        if day is not None and props["day"] != day:
            continue
        if level is not None and not math.isclose(props["level"], level, abs_tol=1e-9):
            continue
        if area is not None and not shape(f["geometry"]).intersects(area):
            continue
        out.append(copy.deepcopy(f))
    return out
