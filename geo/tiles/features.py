"""Towers and remedy zones as :class:`~geo.tiles.vector.VectorFeature` for vector tiles.

The properties are those of :data:`geo.tiles.catalog.VECTOR_LAYERS` (the TileJSON
``vector_layers`` fields): MVT values are scalars, so a zone's tower ids are one
comma-separated string, a tower's tiers are summarised (count, highest and mean
intensity, highest standard error) and a value that is not known is left out.
Towers are points at their footprint's centroid, so that a map can draw them as
circles at every zoom.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from shapely.geometry import Point

from geo.layer import Tower
from geo.tiles.vector import Property, VectorFeature
from geo.zones import RemedyZone

__all__ = ["tower_features", "zone_features"]

TierValues = Mapping[tuple[str, int], tuple[float, float]]


def _rounded(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def _tower_properties(
    tower: Tower, tier_values: TierValues, field_version: int | None
) -> dict[str, Property]:
    props: dict[str, Property] = {
        "id": tower.id,
        "name": tower.name,
        "height_m": _rounded(tower.height_m, 2),
        "base_height_m": _rounded(tower.base_height_m, 2),
        "tiers": len(tower.tiers),
    }
    known = [
        tier_values[(tower.id, t.level)] for t in tower.tiers if (tower.id, t.level) in tier_values
    ]
    known = [(v, se) for v, se in known if math.isfinite(v) and math.isfinite(se)]
    if known:
        props["intensity_max"] = _rounded(max(v for v, _ in known))
        props["intensity_mean"] = _rounded(sum(v for v, _ in known) / len(known))
        props["std_error_max"] = _rounded(max(se for _, se in known))
    if field_version is not None:
        props["field_version"] = field_version
    return props


def tower_features(
    towers: Sequence[Tower], tier_values: TierValues | None = None, field_version: int | None = None
) -> list[VectorFeature]:
    """One point feature per tower (at its footprint's centroid) with its tiers' intensity.

    ``tier_values`` maps ``(tower_id, level)`` to ``(intensity, std_error)`` (a
    :class:`service.fields.FieldSnapshot`'s ``tier_values``); without it the intensity
    properties are left out.
    """
    values = tier_values or {}
    return [
        VectorFeature(
            Point(*tower.centroid_lonlat), _tower_properties(tower, values, field_version)
        )
        for tower in towers
    ]


def zone_features(
    zones: Sequence[RemedyZone], field_version: int | None = None
) -> list[VectorFeature]:
    """One polygon feature per remedy zone with its rank, priority and dose."""
    out = []
    for zone in zones:
        props: dict[str, Property] = {
            "id": zone.id,
            "band": zone.band,
            "rank": zone.rank,
            "priority": _rounded(zone.priority),
            "threshold_min": zone.threshold_min,
            "threshold_max": zone.threshold_max,
            "mean_intensity": _rounded(zone.mean_intensity),
            "max_intensity": _rounded(zone.max_intensity),
            "mean_std_error": _rounded(zone.mean_std_error),
            "area_m2": _rounded(zone.area_m2, 1),
            "dose_l_per_m2": _rounded(zone.dose_l_per_m2),
            "total_dose_l": _rounded(zone.total_dose_l, 2),
            "towers": ",".join(zone.towers),
        }
        if field_version is not None:
            props["field_version"] = field_version
        out.append(VectorFeature(zone.geometry_wgs84, props))
    return out
