"""Daily observed states of the model's hosts, from plant-health observations.

Day ``k`` of a series covers ``[start + k days, start + (k + 1) days)``. An observation
is placed on host ``h`` when its ``(tower_id, tier)`` equals ``(hosts.tower_ids[
hosts.tower_index[h]], hosts.level[h])``; observations without a tower id or a tier,
or about a tier that is not a host, or outside the ``days`` covered, are ignored. When
a tier is observed several times in one day the latest ``observed_at`` wins (on equal
times, the later one in input order). Unobserved cells are NaN.

The model needs a complete state to start from: :meth:`ObservedSeries.filled` carries
each host's last observation forward (intensity 0 for hosts never observed so far).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts, SpreadState
from geo.observations import Observation

__all__ = ["ObservedSeries", "daily_tier_states"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class ObservedSeries:
    """Observed intensity of every host on each day.

    Attributes
    ----------
    intensity : numpy.ndarray of float, shape (days, n)
        The day's latest observed intensity in [0, 1], NaN where unobserved. Read-only.
    start : datetime
        Start of day 0 (timezone-aware).
    """

    intensity: FloatArray
    start: datetime

    def __post_init__(self) -> None:
        arr = np.array(self.intensity, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise InvalidParameter("must be a non-empty (days, n) array", "intensity")
        seen = arr[~np.isnan(arr)]
        if np.any((seen < 0.0) | (seen > 1.0)):
            raise InvalidParameter("must be NaN or within [0, 1]", "intensity")
        if self.start.tzinfo is None:
            raise InvalidParameter("must be timezone-aware", "start")
        arr.flags.writeable = False
        object.__setattr__(self, "intensity", arr)

    @property
    def days(self) -> int:
        """Number of days in the series."""
        return int(self.intensity.shape[0])

    @property
    def n(self) -> int:
        """Number of hosts."""
        return int(self.intensity.shape[1])

    @property
    def observed_mask(self) -> BoolArray:
        """(days, n) boolean array, True where a host was observed that day."""
        return np.asarray(~np.isnan(self.intensity), dtype=np.bool_)

    def filled(self, day: int) -> FloatArray:
        """Last observation carried forward to ``day`` (0 for hosts never observed).

        Raises
        ------
        InvalidParameter
            If ``day`` is outside ``[0, days)``.
        """
        if not 0 <= day < self.days:
            raise InvalidParameter(f"must be within [0, {self.days})", "day")
        out = np.zeros(self.n)
        for row in self.intensity[: day + 1]:
            seen = ~np.isnan(row)
            out[seen] = row[seen]
        return out

    def state(self, day: int) -> SpreadState:
        """:meth:`filled` as a model state (no exposed hosts)."""
        return SpreadState.initial(self.filled(day))


def daily_tier_states(
    observations: Iterable[Observation], hosts: Hosts, start: datetime, days: int
) -> ObservedSeries:
    """Bin observations into daily per-host intensities (see the module docstring).

    Parameters
    ----------
    observations : iterable of Observation
    hosts : Hosts
        Their ``tower_ids`` and ``level`` identify the tiers.
    start : datetime
        Timezone-aware start of day 0.
    days : int
        Number of days (>= 1).

    Returns
    -------
    ObservedSeries

    Raises
    ------
    InvalidParameter
        If ``start`` is naive or ``days < 1``.
    """
    if start.tzinfo is None:
        raise InvalidParameter("must be timezone-aware", "start")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidParameter("must be an integer >= 1", "days")
    assert hosts.level is not None  # set by Hosts.__post_init__
    index = {
        (hosts.tower_ids[int(t)], int(lv)): h
        for h, (t, lv) in enumerate(zip(hosts.tower_index, hosts.level, strict=True))
    }
    intensity = np.full((days, hosts.n), np.nan)
    latest: dict[tuple[int, int], datetime] = {}
    day_length = timedelta(days=1)
    for obs in observations:
        if obs.tower_id is None or obs.tier is None:
            continue
        host = index.get((obs.tower_id, int(obs.tier)))
        if host is None:
            continue
        day = (obs.observed_at - start) // day_length
        if not 0 <= day < days:
            continue
        key = (day, host)
        if key in latest and obs.observed_at < latest[key]:
            continue
        latest[key] = obs.observed_at
        intensity[day, host] = obs.intensity
    return ObservedSeries(intensity, start)
