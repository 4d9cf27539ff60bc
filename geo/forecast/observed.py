"""Daily observed states of the model's hosts, from plant-health observations.

Day ``k`` of a series covers ``[start + k days, start + (k + 1) days)``. An observation
is placed on host ``h`` when its ``(tower_id, tier)`` equals ``(hosts.tower_ids[
hosts.tower_index[h]], hosts.level[h])``; observations without a tower id or a tier,
or about a tier that is not a host, or outside the ``days`` covered, are ignored. When
a tier is observed several times in one day the latest ``observed_at`` wins (on equal
times, the later one in input order), or with ``aggregate="mean"`` the day's reports
are averaged (four sensor reports a day halve the noise). Unobserved cells are NaN.

The model needs a complete state to start from: :meth:`ObservedSeries.filled` carries
each host's last observation forward (intensity 0 for hosts never observed so far).

Observation noise
-----------------
A healthy tier is rarely reported as exactly 0: sensor noise makes it read 0.01-0.05.
To the model any intensity above 0 is an infection that releases spores and grows, so
noise seeds phantom outbreaks. :meth:`ObservedSeries.with_detection_floor` applies a
simple observation model, ``i_obs < floor -> 0`` ("not detected"), and records the
floor so that calibration applies the same operator to simulated intensities
(:func:`~geo.forecast.calibrate.abc_distance`). :func:`noise_floor` estimates a floor
from days on which blight is known to be absent or rare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts, SpreadState
from geo.observations import Observation

__all__ = ["Aggregate", "BelowFloor", "ObservedSeries", "daily_tier_states", "noise_floor"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Aggregate = Literal["latest", "mean"]
BelowFloor = Literal["draw", "zero"]


@dataclass(frozen=True, eq=False)
class ObservedSeries:
    """Observed intensity of every host on each day.

    Attributes
    ----------
    intensity : numpy.ndarray of float, shape (days, n)
        The day's latest observed intensity in [0, 1], NaN where unobserved. Read-only.
    start : datetime
        Start of day 0 (timezone-aware).
    detection_floor : float
        Observed intensities below this were set to 0 (see the module docstring);
        0 when no floor was applied. In [0, 1).
    noise_sd : float
        Standard deviation of the observation noise, intensity units (>= 0); used by
        :meth:`draw_state` to draw uncertain starting states.
    raw_intensity : numpy.ndarray of float, shape (days, n), optional
        The observations before the floor (default: ``intensity``); values below the
        floor still say how close to it a tier was (:meth:`draw_state`). Read-only.
    """

    intensity: FloatArray
    start: datetime
    detection_floor: float = 0.0
    noise_sd: float = 0.0
    raw_intensity: FloatArray | None = None

    def __post_init__(self) -> None:
        arr = np.array(self.intensity, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise InvalidParameter("must be a non-empty (days, n) array", "intensity")
        seen = arr[~np.isnan(arr)]
        if np.any((seen < 0.0) | (seen > 1.0)):
            raise InvalidParameter("must be NaN or within [0, 1]", "intensity")
        if self.start.tzinfo is None:
            raise InvalidParameter("must be timezone-aware", "start")
        if not 0.0 <= self.detection_floor < 1.0:
            raise InvalidParameter("must be within [0, 1)", "detection_floor")
        if not (np.isfinite(self.noise_sd) and 0.0 <= self.noise_sd < 1.0):
            raise InvalidParameter("must be within [0, 1)", "noise_sd")
        arr.flags.writeable = False
        object.__setattr__(self, "intensity", arr)
        if self.raw_intensity is None:
            raw = arr
        else:
            raw = np.array(self.raw_intensity, dtype=np.float64)
            raw.flags.writeable = False
            if raw.shape != arr.shape or not np.array_equal(np.isnan(raw), np.isnan(arr)):
                raise InvalidParameter("must match intensity and its gaps", "raw_intensity")
        object.__setattr__(self, "raw_intensity", raw)

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

    def filled(self, day: int, raw: bool = False) -> FloatArray:
        """Last observation carried forward to ``day`` (0 for hosts never observed).

        ``raw=True`` reads :attr:`raw_intensity` (before the detection floor).

        Raises
        ------
        InvalidParameter
            If ``day`` is outside ``[0, days)``.
        """
        if not 0 <= day < self.days:
            raise InvalidParameter(f"must be within [0, {self.days})", "day")
        out = np.zeros(self.n)
        source = self.raw_intensity if raw and self.raw_intensity is not None else self.intensity
        for row in source[: day + 1]:
            seen = ~np.isnan(row)
            out[seen] = row[seen]
        return out

    def state(self, day: int) -> SpreadState:
        """:meth:`filled` as a model state (no exposed hosts)."""
        return SpreadState.initial(self.filled(day))

    def draw_state(
        self, day: int, rng: np.random.Generator, below_floor: BelowFloor = "draw"
    ) -> SpreadState:
        """A starting state drawn from the observation error (no exposed hosts).

        Each host's last raw observation ``y`` (``filled(day, raw=True)``, before the
        floor) is taken with its error,
        ``i = clip(y + noise_sd * z, 0, 1)``, ``z ~ N(0, 1)``, and set to 0 when below
        ``detection_floor``: a tier observed just under the floor is infected in some
        runs, one observed at 0 almost never, one above the floor in most. The
        perturbed value stands for the (unobserved) true intensity, so a host may be
        drawn infected even where the floor hides it. With ``below_floor="zero"`` a
        host *observed* below the floor starts at 0 whatever its draw (the floor is
        trusted: with biased sensors, healthy tiers read just under it). With
        ``noise_sd == 0`` this is :meth:`state`.
        """
        if self.noise_sd == 0.0:
            return self.state(day)
        y = self.filled(day, raw=True)
        i = np.clip(y + self.noise_sd * rng.standard_normal(self.n), 0.0, 1.0)
        i[i < self.detection_floor] = 0.0
        if below_floor == "zero":
            i[y < self.detection_floor] = 0.0
        return SpreadState.initial(i)

    def with_detection_floor(self, floor: float, noise_sd: float = 0.0) -> ObservedSeries:
        """The series with observed intensities below ``floor`` set to 0.

        Parameters
        ----------
        floor : float
            Detection floor, intensity units, in [0, 1). It must not be below the
            floor already applied.
        noise_sd : float
            Observation noise, intensity units, in [0, 1) (see :meth:`draw_state`).

        Raises
        ------
        InvalidParameter
            (field ``detection_floor`` or ``noise_sd``) when out of range.
        """
        if not (np.isfinite(floor) and self.detection_floor <= floor < 1.0):
            raise InvalidParameter(f"must be within [{self.detection_floor}, 1)", "detection_floor")
        arr = np.where(self.intensity < floor, 0.0, self.intensity)
        return ObservedSeries(arr, self.start, float(floor), float(noise_sd), self.raw_intensity)


def noise_floor(series: ObservedSeries, days: int = 1, quantile: float = 0.95) -> float:
    """A detection floor from the first ``days`` days of ``series``.

    The ``quantile`` of the observed intensities on those days: when the first days
    show no or almost no blight (an outbreak that has just been detected), their
    values are noise, and the floor keeps all but ``1 - quantile`` of that noise out of
    the model's starting state. For zero-mean Gaussian noise of standard deviation
    ``sd`` clipped at 0, the 95 % quantile is ``1.645 sd``, hence ``sd ~ floor / 1.645``.

    Raises
    ------
    InvalidParameter
        If ``days`` is out of range, ``quantile`` not in (0, 1), or nothing was observed.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= series.days:
        raise InvalidParameter(f"must be an integer within [1, {series.days}]", "days")
    if not 0.0 < quantile < 1.0:
        raise InvalidParameter("must be within (0, 1)", "quantile")
    values = series.intensity[:days]
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise InvalidParameter("no observation on the first days", "series")
    return float(min(np.quantile(values, quantile), 0.999))


def _binned(
    observations: Iterable[Observation],
    index: dict[tuple[str, int], int],
    start: datetime,
    days: int,
) -> dict[tuple[int, int], list[tuple[datetime, float]]]:
    """Reports per (day, host), in input order."""
    cells: dict[tuple[int, int], list[tuple[datetime, float]]] = {}
    day_length = timedelta(days=1)
    for obs in observations:
        if obs.tower_id is None or obs.tier is None:
            continue
        host = index.get((obs.tower_id, int(obs.tier)))
        if host is None:
            continue
        day = (obs.observed_at - start) // day_length
        if 0 <= day < days:
            cells.setdefault((day, host), []).append((obs.observed_at, obs.intensity))
    return cells


def daily_tier_states(
    observations: Iterable[Observation],
    hosts: Hosts,
    start: datetime,
    days: int,
    aggregate: Aggregate = "latest",
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
    aggregate : {"latest", "mean"}
        A day's value of a tier: its latest report, or the mean of its reports.

    Returns
    -------
    ObservedSeries

    Raises
    ------
    InvalidParameter
        If ``start`` is naive, ``days < 1`` or ``aggregate`` is unknown.
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
    if aggregate not in ("latest", "mean"):
        raise InvalidParameter("must be 'latest' or 'mean'", "aggregate")
    intensity = np.full((days, hosts.n), np.nan)
    for (day, host), reports in _binned(observations, index, start, days).items():
        if aggregate == "mean":
            intensity[day, host] = float(np.mean([v for _, v in reports]))
        else:
            # Latest time wins; on equal times the later report in input order.
            intensity[day, host] = max(enumerate(reports), key=lambda r: (r[1][0], r[0]))[1][1]
    return ObservedSeries(intensity, start)
