"""Treatments planners applied, and how much protection they still give.

A :class:`Treatment` is an area sprayed with a microbial strain at some dose and time.
An :class:`EfficacyModel` turns dose and age into a protection in [0, 1]: the
fraction by which the treatment lowers the chance that blight establishes or spreads
on the treated surface. :func:`treated_fraction` and :func:`tier_protection` sum this
up per tower and per tier for the forecast; :func:`treatment_effect_grid` rasterizes
it for maps. ``docs/remedy-zones.md`` gives the model with worked numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from geo.crs import LocalFrame
from geo.errors import (
    GeoError,
    InvalidCRS,
    InvalidGeometry,
    InvalidParameter,
    InvalidTreatment,
)
from geo.grid import GridSpec
from geo.layer import TOWER_ID_PATTERN, Tower, check_wgs84_geometry
from geo.observations import format_utc

__all__ = [
    "MAX_DOSE_L_PER_M2",
    "EfficacyModel",
    "Treatment",
    "area_protection",
    "tier_protection",
    "treated_fraction",
    "treatment_effect_grid",
    "validate_area",
]

MAX_DOSE_L_PER_M2 = 10.0
"""Largest accepted application rate, litres per square metre.

Microbial biocontrol sprays go on at well under 2 L/m² of diluted product; a rate
five times the :class:`~geo.zones.DoseModel` ceiling is taken as a unit error
(millilitres entered as litres) rather than a real treatment.
"""

_ID_RE = re.compile(TOWER_ID_PATTERN)

FloatArray = NDArray[np.float64]


def validate_area(geom: BaseGeometry, field_name: str = "geometry") -> None:
    """Check that ``geom`` is a usable WGS84 treated area.

    Raises
    ------
    InvalidGeometry
        If it is not a non-empty Polygon or MultiPolygon, has coordinates outside
        lon [-180, 180] / lat [-90, 90] or not finite, or is invalid (shapely's
        reason is given, e.g. ``"invalid geometry: Self-intersection[1 1]"``).
    """
    if not isinstance(geom, Polygon | MultiPolygon):
        kind = getattr(geom, "geom_type", type(geom).__name__)
        raise InvalidGeometry(f"must be a Polygon or a MultiPolygon, not {kind}", field_name)
    check_wgs84_geometry(geom, field_name)


@dataclass(frozen=True, slots=True)
class Treatment:
    """An area sprayed with a microbial strain.

    Attributes
    ----------
    id : str
        1-64 letters, digits, ``._-``.
    geometry_wgs84 : MultiPolygon
        The sprayed ground, lon/lat (checked by :func:`validate_area`). A Polygon given
        here becomes a one-part MultiPolygon, so a treatment reads back as it was
        answered when recorded, and the treatments layer holds one geometry type.
    strain : str
        The microbial strain (non-empty).
    dose_l_per_m2 : float
        Application rate, litres per square metre, in (0, :data:`MAX_DOSE_L_PER_M2`].
    applied_at : datetime
        Timezone-aware; stored converted to UTC.
    zone_id : str or None
        The remedy zone (:attr:`geo.zones.RemedyZone.id`) it answered, if any.
    notes : str
        Free text.

    Raises
    ------
    InvalidGeometry, InvalidTreatment
        On construction, if a field is out of range.
    """

    id: str
    geometry_wgs84: MultiPolygon
    strain: str
    dose_l_per_m2: float
    applied_at: datetime
    zone_id: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise InvalidTreatment(
                "must be 1-64 characters of letters, digits, '.', '_' or '-'", "id"
            )
        validate_area(self.geometry_wgs84, "geometry")
        if isinstance(self.geometry_wgs84, Polygon):
            object.__setattr__(self, "geometry_wgs84", MultiPolygon([self.geometry_wgs84]))
        if not isinstance(self.strain, str) or not self.strain.strip():
            raise InvalidTreatment("must name the strain", "strain")
        dose = self.dose_l_per_m2
        if not (math.isfinite(dose) and 0.0 < dose <= MAX_DOSE_L_PER_M2):
            raise InvalidTreatment(
                f"must be within (0, {MAX_DOSE_L_PER_M2:g}] L/m²", "dose_l_per_m2"
            )
        applied_at = _utc(self.applied_at, "applied_at", InvalidTreatment)
        object.__setattr__(self, "applied_at", applied_at)

    def properties(self) -> dict[str, Any]:
        """JSON-safe GeoJSON properties."""
        return {
            "strain": self.strain,
            "dose_l_per_m2": self.dose_l_per_m2,
            "applied_at": format_utc(self.applied_at),
            "zone_id": self.zone_id,
            "notes": self.notes,
        }

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature of this treatment."""
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": mapping(self.geometry_wgs84),
            "properties": self.properties(),
        }


@dataclass(frozen=True, slots=True)
class EfficacyModel:
    """Protection given by a treatment as a function of dose and age.

    ::

        efficacy(dose)        = efficacy_max * (1 - 2 ** (-dose_l_per_m2 / dose_half_sat_l_per_m2))
        protection(dose, age) = efficacy(dose) * 2 ** (-age_days / half_life_days)   (age >= 0)
                              = 0                                                    (age < 0)

    ``dose_half_sat_l_per_m2`` is the dose that gives half of ``efficacy_max``; each
    further half-saturation dose halves the remaining gap. Protection halves every
    ``half_life_days`` as the strain's population on the surface declines.

    Attributes
    ----------
    efficacy_max : float
        Protection right after a saturating dose, in (0, 1] (default 0.9).
    dose_half_sat_l_per_m2 : float
        Dose giving ``efficacy_max / 2``, litres per square metre (default 0.25).
    half_life_days : float
        Days for protection to halve (default 10.0).

    Examples
    --------
    >>> m = EfficacyModel()
    >>> round(m.protection(0.25, 0.0), 3), round(m.protection(0.25, 10.0), 4)
    (0.45, 0.225)
    >>> m.protection(0.5, -1.0)
    0.0
    """

    efficacy_max: float = 0.9
    dose_half_sat_l_per_m2: float = 0.25
    half_life_days: float = 10.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.efficacy_max) and 0.0 < self.efficacy_max <= 1.0):
            raise InvalidParameter("must be within (0, 1]", "efficacy_max")
        for name in ("dose_half_sat_l_per_m2", "half_life_days"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise InvalidParameter("must be a finite number > 0", name)

    def efficacy(self, dose_l_per_m2: float) -> float:
        """Protection right after applying ``dose_l_per_m2`` (litres per m²), in [0, 1]."""
        if not (math.isfinite(dose_l_per_m2) and dose_l_per_m2 >= 0.0):
            raise InvalidParameter("must be a finite number >= 0 L/m²", "dose_l_per_m2")
        saturation = 1.0 - 2.0 ** (-dose_l_per_m2 / self.dose_half_sat_l_per_m2)
        return self.efficacy_max * saturation

    def protection(self, dose_l_per_m2: float, age_days: float) -> float:
        """Protection ``age_days`` after applying ``dose_l_per_m2``, in [0, 1].

        Zero before application (negative age).

        Raises
        ------
        InvalidParameter
            If the dose is negative or either argument is not finite.
        """
        if not math.isfinite(age_days):
            raise InvalidParameter("must be a finite number of days", "age_days")
        efficacy = self.efficacy(dose_l_per_m2)
        if age_days < 0.0:
            return 0.0
        return min(max(efficacy * 2.0 ** (-age_days / self.half_life_days), 0.0), 1.0)

    def treatment_protection(self, treatment: Treatment, at: datetime) -> float:
        """:meth:`protection` of a treatment at time ``at`` (timezone-aware)."""
        age_s = (_utc(at, "at") - treatment.applied_at).total_seconds()
        return self.protection(treatment.dose_l_per_m2, age_s / 86_400.0)


DEFAULT_EFFICACY = EfficacyModel()


def treated_fraction(
    towers: Iterable[Tower],
    treatments: Sequence[Treatment],
    frame: LocalFrame,
    at: datetime,
    model: EfficacyModel = DEFAULT_EFFICACY,
) -> dict[str, float]:
    """Protection of each tower's footprint by the treatments, at time ``at``.

    This is the input the forecast uses to slow blight on treated towers: it
    multiplies a tower's local growth/infection rate by ``1 - treated_fraction``.

    For tower ``k`` and treatment ``i`` with protection ``p_i`` at ``at``
    (:meth:`EfficacyModel.treatment_protection`; 0 for treatments applied later)::

        cover_ik = area(footprint_k ∩ treatment_i) / area(footprint_k)   (polygon footprint)
                 = 1 if the point lies in or on treatment_i, else 0      (point footprint)
        treated_fraction_k = 1 - Π_i (1 - p_i * cover_ik)

    treating overlapping treatments as independent protections. Areas are measured
    in ``frame`` (metres).

    Parameters
    ----------
    towers : iterable of Tower
        For instance a :class:`~geo.tower_index.TowerIndex`.
    treatments : sequence of Treatment
    frame : LocalFrame
        Metric frame for the area computations (the district's).
    at : datetime
        Timezone-aware evaluation time.
    model : EfficacyModel

    Returns
    -------
    dict
        ``tower_id -> value in [0, 1]`` for every tower (0.0 when untreated).

    Raises
    ------
    InvalidParameter
        If ``at`` is naive.
    """
    tower_list = list(towers)
    protection = area_protection(
        [t.footprint_wgs84 for t in tower_list], treatments, frame, at, model
    )
    return {t.id: float(p) for t, p in zip(tower_list, protection, strict=True)}


def area_protection(
    shapes_wgs84: Sequence[BaseGeometry],
    treatments: Sequence[Treatment],
    frame: LocalFrame,
    at: datetime,
    model: EfficacyModel = DEFAULT_EFFICACY,
) -> NDArray[np.float64]:
    """Protection of each shape (a footprint, a remedy zone...) by the treatments at ``at``.

    The combination rule of :func:`treated_fraction`: ``1 - Π_i (1 - p_i * cover_i)``
    with ``cover_i`` the share of the shape's area inside treatment ``i`` (for points:
    1 inside or on the boundary, else 0). Returns one value in [0, 1] per shape.

    Raises
    ------
    InvalidParameter
        If ``at`` is naive.
    """
    survival = np.ones(len(shapes_wgs84))
    active = _active(treatments, at, model)
    if len(shapes_wgs84) and active:
        shapes = np.asarray(frame.geometry_to_local(np.array(shapes_wgs84, dtype=object)))
        areas = np.asarray(
            frame.geometry_to_local(np.array([t.geometry_wgs84 for t, _ in active], dtype=object))
        )
        protections = np.array([p for _, p in active])
        hit_shape, hit_treat = shapely.STRtree(areas).query(shapes, predicate="intersects")
        cover = np.ones(len(hit_shape))
        polygonal = shapely.area(shapes[hit_shape]) > 0.0
        sub_s, sub_a = hit_shape[polygonal], hit_treat[polygonal]
        overlap = shapely.area(shapely.intersection(shapes[sub_s], areas[sub_a]))
        cover[polygonal] = np.clip(overlap / shapely.area(shapes[sub_s]), 0.0, 1.0)
        np.multiply.at(survival, hit_shape, 1.0 - protections[hit_treat] * cover)
    return 1.0 - survival


def tier_protection(
    towers: Iterable[Tower],
    treatments: Sequence[Treatment],
    frame: LocalFrame,
    at: datetime,
    model: EfficacyModel = DEFAULT_EFFICACY,
) -> dict[tuple[str, int], float]:
    """:func:`treated_fraction` per ``(tower_id, level)``: every tier of a tower shares
    its tower's value (a ground treatment is sprayed up the whole tower).

    Same parameters and errors as :func:`treated_fraction`.
    """
    tower_list = list(towers)
    by_tower = treated_fraction(tower_list, treatments, frame, at, model)
    return {(t.id, tier.level): by_tower[t.id] for t in tower_list for tier in t.tiers}


def treatment_effect_grid(
    grid_spec: GridSpec,
    frame: LocalFrame,
    treatments: Sequence[Treatment],
    at: datetime,
    model: EfficacyModel = DEFAULT_EFFICACY,
) -> FloatArray:
    """Protection at every cell centre of a grid, for maps of treated ground.

    A cell is treated by a treatment whose area contains its centre
    (``shapely.contains_xy``); protections combine as in :func:`treated_fraction`:
    ``1 - Π_i (1 - p_i)`` over the treatments containing the centre.

    Returns
    -------
    numpy.ndarray
        Shape ``grid_spec.shape``, rows north first, values in [0, 1] (0 untreated).

    Raises
    ------
    InvalidCRS
        If the grid is not in the frame's CRS.
    InvalidParameter
        If ``at`` is naive.
    """
    if not grid_spec.crs.equals(frame.crs, ignore_axis_order=True):
        raise InvalidCRS("the grid must be in the frame's CRS", "grid_spec")
    survival = np.ones(grid_spec.shape)
    xs, ys = grid_spec.cell_centres()
    for treatment, p in _active(treatments, at, model):
        area = frame.geometry_to_local(treatment.geometry_wgs84)
        minx, miny, maxx, maxy = area.bounds
        cols = np.flatnonzero((xs >= minx) & (xs <= maxx))
        rows = np.flatnonzero((ys >= miny) & (ys <= maxy))
        if cols.size == 0 or rows.size == 0:
            continue
        shapely.prepare(area)
        inside = shapely.contains_xy(area, *np.meshgrid(xs[cols], ys[rows]))
        block = survival[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        block *= np.where(inside, 1.0 - p, 1.0)
    return np.asarray(1.0 - survival, dtype=np.float64)


def _active(
    treatments: Sequence[Treatment], at: datetime, model: EfficacyModel
) -> list[tuple[Treatment, float]]:
    """The treatments with positive protection at ``at`` and that protection."""
    at_utc = _utc(at, "at")
    out = [(t, model.treatment_protection(t, at_utc)) for t in treatments]
    return [(t, p) for t, p in out if p > 0.0]


def _utc(moment: datetime, field_name: str, error: type[GeoError] = InvalidParameter) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise error("must be a timezone-aware datetime", field_name)
    return moment.astimezone(UTC)
