"""From observations to interpolation samples: where, how high, how much they count.

:func:`prepare_samples` turns plant-health :class:`~geo.observations.Observation` s into
:class:`Samples`: positions in a :class:`~geo.crs.LocalFrame` (metres), a height above
ground, the intensity, and a weight that fades with age and scales with confidence.
:func:`aggregate_duplicates` merges samples that sit at the same place, which kriging
needs (two identical rows make its matrices singular).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.crs import LocalFrame
from geo.errors import GeoError, TooFewObservations
from geo.layer import Tower
from geo.observations import Observation
from geo.tower_index import TowerIndex

__all__ = [
    "DUPLICATE_TOLERANCE_M",
    "MIN_SAMPLES",
    "SampleOptions",
    "Samples",
    "aggregate_duplicates",
    "prepare_samples",
]

FloatArray = NDArray[np.float64]

MIN_SAMPLES = 3
"""Fewest samples :func:`prepare_samples` accepts."""

DUPLICATE_TOLERANCE_M = 1e-6
"""Samples closer than this (3D, metres) are one location for :func:`aggregate_duplicates`."""

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class SampleOptions:
    """How observations become samples.

    Attributes
    ----------
    window_days : float
        Only observations made at most this many days before the reference time count.
    half_life_days : float
        Age at which an observation's weight has halved.
    vertical_scale : float
        How many metres of horizontal distance one metre of height is worth. Within a
        tower, air moves between tiers less freely than along a street, so tiers 3 m
        apart are treated as about 30 m apart (with the default of 10) by the
        interpolation.
    default_height_m : float
        Height above ground of an observation with neither a tier nor a usable third
        coordinate (a phone held at chest height).
    """

    window_days: float = 7.0
    half_life_days: float = 2.0
    vertical_scale: float = 10.0
    default_height_m: float = 1.5

    def __post_init__(self) -> None:
        for name in ("window_days", "half_life_days", "vertical_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise GeoError("must be a positive finite number", name)
        if not math.isfinite(self.default_height_m):
            raise GeoError("must be a finite number of metres", "default_height_m")


@dataclass(frozen=True, eq=False)
class Samples:
    """Interpolation samples in a local metric frame.

    Attributes
    ----------
    x_m, y_m : ndarray of float
        Position in the local frame, metres.
    z_m : ndarray of float
        Height above the tower base (or the ground), metres, not scaled.
    values : ndarray of float
        The observed intensity.
    weights : ndarray of float
        In (0, 1]: time decay times confidence.
    observed_at : ndarray of datetime64[us]
        Observation times, UTC.
    ids : tuple of str
        Observation ids, one per sample.
    reference_time : datetime
        The "now" of the samples (aware, UTC); ages are counted from it.
    options : SampleOptions
        The options the samples were made with.
    """

    x_m: FloatArray
    y_m: FloatArray
    z_m: FloatArray
    values: FloatArray
    weights: FloatArray
    observed_at: NDArray[np.datetime64]
    ids: tuple[str, ...]
    reference_time: datetime
    options: SampleOptions = field(default_factory=SampleOptions)

    def __post_init__(self) -> None:
        n = len(self.ids)
        arrays = (self.x_m, self.y_m, self.z_m, self.values, self.weights, self.observed_at)
        if any(np.shape(a) != (n,) for a in arrays):
            raise GeoError("sample arrays must be 1-D and of the same length as ids", "samples")
        if not all(np.all(np.isfinite(a)) for a in arrays[:5]):
            raise GeoError("sample coordinates, values and weights must be finite", "samples")
        if n and not (np.all(self.weights > 0.0) and np.all(self.weights <= 1.0)):
            raise GeoError("weights must lie in (0, 1]", "weights")

    def __len__(self) -> int:
        return len(self.ids)

    def coords(self, vertical_scale: float | None = None) -> FloatArray:
        """``(n, 3)`` array of x, y and the height multiplied by ``vertical_scale``.

        ``vertical_scale`` defaults to ``options.vertical_scale``.
        """
        scale = self.options.vertical_scale if vertical_scale is None else vertical_scale
        return np.column_stack((self.x_m, self.y_m, self.z_m * scale))

    @classmethod
    def from_arrays(
        cls,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        z_m: npt.ArrayLike | None = None,
        weights: npt.ArrayLike | None = None,
        reference_time: datetime | None = None,
        options: SampleOptions | None = None,
    ) -> Samples:
        """Samples from plain arrays (synthetic data, other sources, benchmarks).

        ``z_m`` defaults to ``options.default_height_m``, ``weights`` to 1, the
        observation times to ``reference_time`` (default: the Unix epoch, UTC) and the
        ids to ``"0"``, ``"1"``...
        """
        opts = options or SampleOptions()
        x = np.asarray(x_m, dtype=np.float64).ravel()
        n = x.size
        z = np.full(n, opts.default_height_m) if z_m is None else np.asarray(z_m, np.float64)
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        ref = reference_time or datetime(1970, 1, 1, tzinfo=UTC)
        return cls(
            x_m=x,
            y_m=np.asarray(y_m, dtype=np.float64).ravel(),
            z_m=z.ravel(),
            values=np.asarray(values, dtype=np.float64).ravel(),
            weights=w.ravel(),
            observed_at=np.full(n, _naive_utc(ref), dtype="datetime64[us]"),
            ids=tuple(str(i) for i in range(n)),
            reference_time=ref,
            options=opts,
        )


def prepare_samples(
    observations: Iterable[Observation],
    frame: LocalFrame,
    towers: TowerIndex | Mapping[str, Tower],
    options: SampleOptions | None = None,
    reference_time: datetime | None = None,
) -> Samples:
    """Turn observations into weighted samples in ``frame``.

    * The reference time is ``reference_time`` or, by default, the newest
      observation: a stale dataset (no reports for a week) still yields a field.
    * Observations older than ``window_days`` before it, or later than it, are left out.
    * The weight is ``0.5 ** (age_days / half_life_days)`` times the confidence (1 when
      absent); observations with confidence 0 carry nothing and are left out.
    * The same (tower, tier) observed more than once counts once: the latest wins
      (ties: the greatest id).
    * Position: an observation naming a known tower and one of its tiers sits at the
      footprint centroid, at the tier's height. One naming a known tower and carrying a
      third coordinate (no tier) sits at its own lon/lat, at
      ``height_ellipsoid_m - tower.base_height_m``. Any other sits at its own lon/lat,
      ``default_height_m`` above ground.

    Parameters
    ----------
    observations : iterable of Observation
    frame : LocalFrame
        The district's metric frame; sample x, y are in it.
    towers : TowerIndex or mapping of tower id to Tower
    options : SampleOptions, optional
    reference_time : datetime, optional
        Aware datetime; default the newest observation.

    Raises
    ------
    TooFewObservations
        If fewer than :data:`MIN_SAMPLES` samples remain (``field="observations"``).
    GeoError
        If ``reference_time`` has no timezone.
    """
    opts = options or SampleOptions()
    if reference_time is not None and reference_time.utcoffset() is None:
        raise GeoError("must carry a timezone", "reference_time")
    obs = list(observations)
    if not obs:
        raise TooFewObservations("no observations to interpolate", "observations")
    ref = (reference_time or max(o.observed_at for o in obs)).astimezone(UTC)
    ages_days = _ages_days(obs, ref)
    keep = (ages_days >= 0.0) & (ages_days <= opts.window_days)
    kept = [o for o, k in zip(obs, keep, strict=True) if k and o.confidence != 0.0]
    kept = _latest_per_tower_tier(kept)
    if len(kept) < MIN_SAMPLES:
        raise TooFewObservations(
            f"need at least {MIN_SAMPLES} observations within {opts.window_days:g} days "
            f"before the newest one; {len(kept)} remain",
            "observations",
        )
    lons, lats, z = _positions(kept, towers, opts)
    x, y = frame.to_local(lons, lats)
    ages = _ages_days(kept, ref)
    confidence = np.array([1.0 if o.confidence is None else o.confidence for o in kept])
    return Samples(
        x_m=np.asarray(x, dtype=np.float64),
        y_m=np.asarray(y, dtype=np.float64),
        z_m=z,
        values=np.array([o.intensity for o in kept], dtype=np.float64),
        weights=np.power(0.5, ages / opts.half_life_days) * confidence,
        observed_at=np.array([_naive_utc(o.observed_at) for o in kept], dtype="datetime64[us]"),
        ids=tuple(o.id for o in kept),
        reference_time=ref,
        options=opts,
    )


def aggregate_duplicates(samples: Samples, tolerance_m: float = DUPLICATE_TOLERANCE_M) -> Samples:
    """Merge samples at the same 3D location (within ``tolerance_m``, unscaled metres).

    A merged sample has the weighted mean of the values, the sum of the weights
    (capped at 1: two half-trusted reports make one trusted one), the latest
    observation time and the id of its latest member. Groups are chained (a-b and b-c
    close makes one group) and keep the order of their first member. Samples without
    duplicates are returned unchanged (the same object).
    """
    n = len(samples)
    if n < 2:
        return samples
    xyz = np.column_stack((samples.x_m, samples.y_m, samples.z_m))
    pairs = cKDTree(xyz).query_pairs(tolerance_m, output_type="ndarray")
    if len(pairs) == 0:
        return samples
    graph = coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # groups in order of their first member
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[inverse]
    g = order.size
    w = samples.weights
    wsum = np.bincount(group, weights=w, minlength=g)
    times = samples.observed_at.astype(np.int64)
    latest = _latest_member(group, times, g)
    return Samples(
        x_m=samples.x_m[np.sort(first)],
        y_m=samples.y_m[np.sort(first)],
        z_m=samples.z_m[np.sort(first)],
        values=np.bincount(group, weights=w * samples.values, minlength=g) / wsum,
        weights=np.minimum(wsum, 1.0),
        observed_at=samples.observed_at[latest],
        ids=tuple(samples.ids[i] for i in latest),
        reference_time=samples.reference_time,
        options=samples.options,
    )


def _latest_member(group: NDArray[np.intp], times: NDArray[np.int64], g: int) -> NDArray[np.intp]:
    """Index of the latest sample of each group (ties: the last one)."""
    order = np.lexsort((np.arange(group.size), times, group))
    last_of_group = np.flatnonzero(np.r_[group[order][1:] != group[order][:-1], True])
    out: NDArray[np.intp] = order[last_of_group]
    assert out.size == g
    return out


def _naive_utc(moment: datetime) -> datetime:
    """Naive UTC datetime (numpy's datetime64 refuses aware datetimes)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _ages_days(observations: Sequence[Observation], reference: datetime) -> FloatArray:
    return np.array(
        [(reference - o.observed_at) / timedelta(days=1) for o in observations],
        dtype=np.float64,
    )


def _latest_per_tower_tier(observations: list[Observation]) -> list[Observation]:
    """Keep only the latest observation of each (tower, tier); others pass through."""
    latest: dict[tuple[str, int], Observation] = {}
    others: list[Observation] = []
    for o in observations:
        if o.tower_id is None or o.tier is None:
            others.append(o)
            continue
        key = (o.tower_id, o.tier)
        known = latest.get(key)
        if known is None or (o.observed_at, o.id) > (known.observed_at, known.id):
            latest[key] = o
    return sorted([*others, *latest.values()], key=lambda o: (o.observed_at, o.id))


def _positions(
    observations: Sequence[Observation],
    towers: TowerIndex | Mapping[str, Tower],
    options: SampleOptions,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """lon, lat and height above ground (metres) of each observation."""
    n = len(observations)
    lons, lats = np.empty(n), np.empty(n)
    z = np.full(n, options.default_height_m)
    for i, o in enumerate(observations):
        lons[i], lats[i] = o.lon, o.lat
        tower = towers.get(o.tower_id) if o.tower_id is not None else None
        if tower is None:
            continue
        tier = _tier_height_m(tower, o.tier)
        if tier is not None:
            lons[i], lats[i] = tower.centroid_lonlat
            z[i] = tier
        elif o.height_ellipsoid_m is not None:
            z[i] = o.height_ellipsoid_m - tower.base_height_m
    return lons, lats, z


def _tier_height_m(tower: Tower, level: int | None) -> float | None:
    if level is None or not 0 <= level < len(tower.tiers):
        return None
    return tower.tiers[level].height_m
