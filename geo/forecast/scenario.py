"""Treatment scenarios for a forecast: the protection of every host on every day.

A forecast runs from ``start`` for ``days`` days. Treatments already applied keep
protecting their towers as they decay; planned treatments start protecting on the
day they are planned for. :func:`protection_schedule` turns both into the per-day,
per-host protection the spread model (:attr:`geo.forecast.model.Hosts.protection`)
takes, with the combination rule of :func:`geo.treatments.area_protection`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from geo.crs import LocalFrame
from geo.errors import InvalidParameter
from geo.forecast.model import Hosts
from geo.layer import Tower
from geo.treatments import DEFAULT_EFFICACY, EfficacyModel, Treatment, area_protection

__all__ = ["PlannedTreatment", "protection_schedule"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PlannedTreatment:
    """A treatment planned for a forecast day.

    Attributes
    ----------
    day : int
        Forecast day it is applied on (0 = the forecast start), >= 0.
    treatment : Treatment
        Area, strain and dose; its ``applied_at`` is replaced by ``start + day``.

    Raises
    ------
    InvalidParameter
        If ``day`` is not an integer >= 0.
    """

    day: int
    treatment: Treatment

    def __post_init__(self) -> None:
        if isinstance(self.day, bool) or not isinstance(self.day, int) or self.day < 0:
            raise InvalidParameter("must be an integer >= 0", "day")

    def applied(self, start: datetime) -> Treatment:
        """The treatment as applied at ``start + day`` days."""
        return dataclasses.replace(self.treatment, applied_at=start + timedelta(days=self.day))


def protection_schedule(
    hosts: Hosts,
    towers: Iterable[Tower],
    frame: LocalFrame,
    planned: Sequence[PlannedTreatment],
    applied: Sequence[Treatment],
    start: datetime,
    days: int,
    model: EfficacyModel = DEFAULT_EFFICACY,
) -> FloatArray:
    """Protection of each host on each forecast day from applied and planned treatments.

    On day ``d`` (time ``start + d`` days) a tower's protection is
    :func:`geo.treatments.area_protection` of its footprint by the treatments already
    applied (decaying with the model's half-life; those applied after ``start + d``
    count 0) and the planned ones with :meth:`PlannedTreatment.applied`. Overlapping
    treatments combine as independent protections, ``1 - Π_i (1 - p_i * cover_i)``.
    Every tier of a tower shares its tower's value, as in
    :func:`geo.treatments.tier_protection`.

    Parameters
    ----------
    hosts : Hosts
        Built from ``towers`` (e.g. :meth:`Hosts.from_towers`); each host's tower is
        found by ``hosts.tower_ids[tower_index]``.
    towers : iterable of Tower
        Must hold every tower of the hosts.
    frame : LocalFrame
        Metric frame for the area computations.
    planned : sequence of PlannedTreatment
    applied : sequence of Treatment
    start : datetime
        Timezone-aware forecast start (day 0).
    days : int
        Number of forecast days (>= 0).
    model : EfficacyModel

    Returns
    -------
    numpy.ndarray
        Shape ``(days + 1, hosts.n)``, values in [0, 1]; row ``d`` is the
        ``Hosts.protection`` of day ``d``.

    Raises
    ------
    InvalidParameter
        If ``start`` is naive, ``days`` is negative or a host's tower is missing.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise InvalidParameter("must be an integer >= 0", "days")
    if not isinstance(start, datetime) or start.utcoffset() is None:
        raise InvalidParameter("must be a timezone-aware datetime", "start")
    by_id = {t.id: t for t in towers}
    missing = sorted({hosts.tower_ids[int(i)] for i in hosts.tower_index} - by_id.keys())
    if missing:
        raise InvalidParameter(f"no tower for hosts of {', '.join(missing[:5])}", "towers")
    used = np.unique(hosts.tower_index)
    footprints = [by_id[hosts.tower_ids[int(i)]].footprint_wgs84 for i in used]
    host_pos = np.searchsorted(used, hosts.tower_index)
    treatments = [*applied, *(p.applied(start) for p in planned)]
    out = np.zeros((days + 1, hosts.n))
    for day in range(days + 1):
        at = start + timedelta(days=day)
        out[day] = area_protection(footprints, treatments, frame, at, model)[host_pos]
    return out
