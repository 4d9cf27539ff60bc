"""Remedy zones: where to spray the microbial strain, how much, and in which order.

A blight field (a :class:`~geo.grid.Grid` of intensities in [0, 1]) is cut into
severity bands at :attr:`ZoneOptions.thresholds`; each band's area, widened by a
safety margin, is split into connected zones. Every zone knows the grid cells under
it, the towers it touches and the tiers of those towers to spray, its priority and
rank, and its dose. ``docs/remedy-zones.md`` explains the pipeline and formulas.

Pipeline (see :func:`geo.zone_geometry.band_polygons`):

1. contourpy ``filled`` contours of ``{values >= t}`` for each threshold ``t``, on
   the cell centres, NaN cells masked;
2. ``shapely.make_valid`` (polygonal parts kept), simplify by ``simplify_m``, buffer
   by ``margin_m``, drop parts below ``min_area_m2``;
3. bands do not overlap: each band is its buffered region minus the buffered regions
   of all higher bands, so a severe patch's margin belongs to the severe band;
4. each connected polygon of at least ``min_area_m2`` becomes one zone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, mapping

from geo.crs import LocalFrame
from geo.errors import InvalidCRS, InvalidParameter
from geo.grid import Grid
from geo.tower_index import TowerIndex
from geo.zone_dose import DoseModel, zone_priority
from geo.zone_geometry import CellStats, band_polygons, cell_stats, polygonal_parts

__all__ = [
    "DEFAULT_ZONE_OPTIONS",
    "DoseModel",
    "RemedyZone",
    "ZoneOptions",
    "remedy_zones",
    "zone_priority",
]

TierKey = tuple[str, int]
"""``(tower_id, level)``."""


@dataclass(frozen=True, slots=True)
class ZoneOptions:
    """How a field is cut into remedy zones.

    Attributes
    ----------
    thresholds : tuple of float
        Lower edges of the severity bands, strictly increasing within (0, 1). The
        default ``(0.2, 0.4, 0.6)`` gives bands [0.2, 0.4), [0.4, 0.6) and [0.6, 1].
    margin_m : float
        Safety buffer around every band, metres (>= 0).
    simplify_m : float
        Douglas-Peucker tolerance applied before buffering, metres (>= 0).
    min_area_m2 : float
        Zones (and buffered patches) smaller than this are dropped, square metres.
    dose : DoseModel
        Litres per square metre and per tier.
    """

    thresholds: tuple[float, ...] = (0.2, 0.4, 0.6)
    margin_m: float = 5.0
    simplify_m: float = 1.0
    min_area_m2: float = 25.0
    dose: DoseModel = field(default_factory=DoseModel)

    def __post_init__(self) -> None:
        ts = tuple(float(t) for t in self.thresholds)
        if not ts:
            raise InvalidParameter("needs at least one threshold", "thresholds")
        if not all(0.0 < t < 1.0 for t in ts):
            raise InvalidParameter("each threshold must lie strictly within (0, 1)", "thresholds")
        if any(b <= a for a, b in itertools.pairwise(ts)):
            raise InvalidParameter("must be strictly increasing", "thresholds")
        object.__setattr__(self, "thresholds", ts)
        for name in ("margin_m", "simplify_m", "min_area_m2"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise InvalidParameter("must be a finite number >= 0", name)

    def band_range(self, band: int) -> tuple[float, float]:
        """``(threshold_min, threshold_max)`` of a band; the top band ends at 1.0."""
        ts = self.thresholds
        return ts[band], (ts[band + 1] if band + 1 < len(ts) else 1.0)


DEFAULT_ZONE_OPTIONS = ZoneOptions()
"""The defaults: bands at 0.2 / 0.4 / 0.6, 5 m margin, 1 m simplification, 25 m² minimum."""


@dataclass(frozen=True, slots=True)
class RemedyZone:
    """One connected area of one severity band, with what to spray on it.

    Attributes
    ----------
    id : str
        ``zone-b{band}-{n:03d}``: ``n`` counts the band's zones from 1 in rank order.
    band : int
        Index into :attr:`ZoneOptions.thresholds` (0 = least severe).
    threshold_min, threshold_max : float
        The band's intensity range (the top band's maximum is 1.0).
    geometry_local : Polygon
        In the metric frame of the grid; valid, exterior counter-clockwise.
    geometry_wgs84 : Polygon
        The same polygon in lon/lat.
    area_m2 : float
        ``geometry_local.area``.
    mean_intensity, max_intensity, mean_std_error : float
        Over the grid cells whose centre lies inside the zone (margin included),
        ignoring NaN cells.
    towers : tuple of str
        Ids of the towers whose footprint intersects the zone, sorted.
    tiers : tuple of (str, int)
        ``(tower_id, level)`` of the tiers this zone sprays: see :func:`remedy_zones`.
    priority : float
        ``mean_intensity * (1 + len(towers)) * (1 + mean_std_error)``.
    rank : int
        1 = treat first (highest priority).
    dose_l_per_m2 : float
        Ground application rate, litres per square metre (:class:`DoseModel`).
    ground_dose_l, tier_dose_l, total_dose_l : float
        Litres on the ground (rate * area), on the tiers, and their sum.
    """

    id: str
    band: int
    threshold_min: float
    threshold_max: float
    geometry_local: Polygon
    geometry_wgs84: Polygon
    area_m2: float
    mean_intensity: float
    max_intensity: float
    mean_std_error: float
    towers: tuple[str, ...]
    tiers: tuple[TierKey, ...]
    priority: float
    rank: int
    dose_l_per_m2: float
    ground_dose_l: float
    tier_dose_l: float
    total_dose_l: float

    def properties(self) -> dict[str, Any]:
        """JSON-safe GeoJSON properties (finite floats, lists, plain ints and strs)."""
        return {
            "id": self.id,
            "band": self.band,
            "threshold_min": self.threshold_min,
            "threshold_max": self.threshold_max,
            "area_m2": self.area_m2,
            "mean_intensity": self.mean_intensity,
            "max_intensity": self.max_intensity,
            "mean_std_error": self.mean_std_error,
            "towers": list(self.towers),
            "tiers": [{"tower_id": t, "level": level} for t, level in self.tiers],
            "priority": self.priority,
            "rank": self.rank,
            "dose_l_per_m2": self.dose_l_per_m2,
            "ground_dose_l": self.ground_dose_l,
            "tier_dose_l": self.tier_dose_l,
            "total_dose_l": self.total_dose_l,
        }

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature with the WGS84 geometry and :meth:`properties`."""
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": mapping(self.geometry_wgs84),
            "properties": self.properties(),
        }


@dataclass(frozen=True, slots=True)
class _Draft:
    band: int
    polygon: Polygon
    stats: CellStats
    towers: tuple[str, ...]
    priority: float


def remedy_zones(
    grid: Grid,
    frame: LocalFrame,
    towers: TowerIndex,
    tier_values: Mapping[TierKey, tuple[float, float]] | None = None,
    options: ZoneOptions = DEFAULT_ZONE_OPTIONS,
) -> list[RemedyZone]:
    """Remedy zones of a blight field, most urgent first.

    Parameters
    ----------
    grid : Grid
        Blight intensity in [0, 1] and its variance, in ``frame``'s CRS. NaN cells
        are ignored; contours run between cell centres, so the outer half cell of
        the grid is never inside a zone unless the margin reaches it.
    frame : LocalFrame
        The metric frame of the grid; used to project towers and zones.
    towers : TowerIndex
        Towers whose footprint intersecting a zone makes them affected.
    tier_values : mapping (tower_id, level) -> (value, variance), optional
        Interpolated intensity at each tier. An affected tower's tier is sprayed
        when its value reaches the zone's ``threshold_min``; a tier missing from
        the mapping (or NaN) is sprayed (no estimate is not evidence of health).
        Without the mapping, every tier of an affected tower is sprayed.
    options : ZoneOptions
        Thresholds, margin, simplification, minimum area and dose model.

    Returns
    -------
    list of RemedyZone
        Ordered by rank (1 first). Zones of different bands do not overlap. Each
        tier is sprayed by at most one zone: of the zones touching its tower that
        qualify it, the most severe band (then the one covering more of the
        footprint, then the better rank), so no tier is dosed twice.

    Raises
    ------
    InvalidCRS
        If the grid is not in the frame's CRS.
    """
    if not grid.spec.crs.equals(frame.crs, ignore_axis_order=True):
        raise InvalidCRS("the grid must be in the frame's CRS", "grid")
    bands = band_polygons(
        grid, options.thresholds, options.simplify_m, options.margin_m, options.min_area_m2
    )
    ids = [t.id for t in towers]
    footprints = np.asarray(
        frame.geometry_to_local(np.array([t.footprint_wgs84 for t in towers], dtype=object))
    )
    tree = shapely.STRtree(footprints)
    std_error = grid.std_error
    drafts: list[_Draft] = []
    for band, polygons in enumerate(bands):
        for polygon in polygons:
            stats = cell_stats(grid, std_error, polygon)
            if stats is None:
                continue
            hits = tree.query(polygon, predicate="intersects")
            touched = tuple(sorted(ids[i] for i in hits))
            priority = zone_priority(stats[0], len(touched), stats[2])
            drafts.append(_Draft(band, polygon, stats, touched, priority))
    drafts.sort(key=_rank_key)
    tiers = _assign_tiers(drafts, towers, footprints, tier_values, options)
    return _finish(drafts, tiers, frame, footprints, towers, tier_values, options)


def _rank_key(d: _Draft) -> tuple[float, ...]:
    point = d.polygon.representative_point()
    return (-d.priority, -d.band, -d.polygon.area, point.x, point.y)


def _assign_tiers(
    drafts: Sequence[_Draft],
    towers: TowerIndex,
    footprints: np.ndarray[Any, Any],
    tier_values: Mapping[TierKey, tuple[float, float]] | None,
    options: ZoneOptions,
) -> list[list[TierKey]]:
    """Per draft (in rank order) the tiers it sprays; each tier goes to one zone."""
    index = {t.id: i for i, t in enumerate(towers)}
    best: dict[TierKey, tuple[tuple[float, float, int], int]] = {}
    for k, draft in enumerate(drafts):
        t_min = options.thresholds[draft.band]
        for tower_id in draft.towers:
            i = index[tower_id]
            overlap = shapely.intersection(footprints[i], draft.polygon).area
            key = (-float(draft.band), -overlap, k)
            for tier in towers.towers[i].tiers:
                tk = (tower_id, tier.level)
                value = _tier_value(tier_values, tk)
                if value is not None and value < t_min:
                    continue
                if tk not in best or key < best[tk][0]:
                    best[tk] = (key, k)
    out: list[list[TierKey]] = [[] for _ in drafts]
    for tk, (_, k) in best.items():
        out[k].append(tk)
    return [sorted(x) for x in out]


def _tier_value(
    tier_values: Mapping[TierKey, tuple[float, float]] | None, key: TierKey
) -> float | None:
    """The tier's interpolated value, or None when unknown (no mapping, missing, NaN)."""
    if tier_values is None or key not in tier_values:
        return None
    value = float(tier_values[key][0])
    return value if math.isfinite(value) else None


def _finish(
    drafts: Sequence[_Draft],
    tiers: Sequence[Sequence[TierKey]],
    frame: LocalFrame,
    footprints: np.ndarray[Any, Any],
    towers: TowerIndex,
    tier_values: Mapping[TierKey, tuple[float, float]] | None,
    options: ZoneOptions,
) -> list[RemedyZone]:
    """Ids, doses and WGS84 geometries of the ranked drafts."""
    index = {t.id: i for i, t in enumerate(towers)}
    model = options.dose
    per_band: dict[int, int] = {}
    zones: list[RemedyZone] = []
    for rank, (draft, zone_tiers) in enumerate(zip(drafts, tiers, strict=True), start=1):
        per_band[draft.band] = per_band.get(draft.band, 0) + 1
        mean_i, max_i, mean_se = draft.stats
        rate = model.ground_rate_l_per_m2(mean_i)
        area_m2 = float(draft.polygon.area)
        tier_l = 0.0
        for tower_id, level in zone_tiers:
            value = _tier_value(tier_values, (tower_id, level))
            surface_m2 = model.tier_area_m2(float(footprints[index[tower_id]].area))
            tier_l += model.tier_dose_l(surface_m2, mean_i if value is None else value)
        t_min, t_max = options.band_range(draft.band)
        zones.append(
            RemedyZone(
                id=f"zone-b{draft.band}-{per_band[draft.band]:03d}",
                band=draft.band,
                threshold_min=t_min,
                threshold_max=t_max,
                geometry_local=draft.polygon,
                geometry_wgs84=_to_wgs84(draft.polygon, frame),
                area_m2=area_m2,
                mean_intensity=mean_i,
                max_intensity=max_i,
                mean_std_error=mean_se,
                towers=draft.towers,
                tiers=tuple(zone_tiers),
                priority=draft.priority,
                rank=rank,
                dose_l_per_m2=rate,
                ground_dose_l=rate * area_m2,
                tier_dose_l=tier_l,
                total_dose_l=rate * area_m2 + tier_l,
            )
        )
    return zones


def _to_wgs84(polygon: Polygon, frame: LocalFrame) -> Polygon:
    """The polygon in lon/lat; repaired (largest part kept) in the rare case that
    unprojecting makes a nearly-touching ring self-intersect."""
    out = frame.geometry_to_wgs84(polygon)
    if isinstance(out, Polygon) and out.is_valid:
        return out
    parts = polygonal_parts(out)
    return max(parts, key=lambda p: p.area)
