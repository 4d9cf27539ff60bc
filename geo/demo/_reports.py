"""Reports of a simulated outbreak, as a real deployment would produce them (private).

Four reporting channels read the true tier intensities (linearly interpolated between
simulation steps) and add their own noise:

* fixed sensors on a share of the tiers, every few hours at a per-sensor minute offset,
  with a small calibration bias, occasional dropouts and a microbial-balance reading;
* drone passes every few days over a share of the towers, reporting the top tiers with
  their ellipsoidal height;
* people, a few reports a day, drawn to tiers where blight shows, quantized to 0.1 and
  placed a few metres off the tower;
* an external model every 12 h on a share of the tiers, reflecting somewhat old data.

Ids read ``demo-<source>-<tower_id>-<level>-<nnnn>``; ``nnnn`` is the report's number
in its channel (per sensor, drone pass, person report or model run), so ids are
unique and deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from geo.demo._epidemic import Layout
from geo.demo.config import OutbreakConfig
from geo.observations import Observation, Source

__all__ = ["report_observations"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class _Truth:
    """The true arrays and the window they cover."""

    start: datetime
    window_s: int
    step_s: float
    intensity: FloatArray
    balance: FloatArray

    def at(self, array: FloatArray, tiers: IntArray, t_s: IntArray) -> FloatArray:
        """Linear interpolation of ``array`` at tiers ``tiers`` and seconds ``t_s``."""
        position = np.clip(t_s / self.step_s, 0.0, array.shape[0] - 1)
        i = np.minimum(position.astype(np.int64), array.shape[0] - 2)
        w = position - i
        return (1.0 - w) * array[i, tiers] + w * array[i + 1, tiers]


@dataclass(frozen=True)
class _Batch:
    """Reports of one channel as parallel arrays."""

    source: Source
    tiers: IntArray
    t_s: IntArray
    seq: IntArray
    intensity: FloatArray
    confidence: float
    balance: FloatArray | None = None
    height_m: FloatArray | None = None
    dlon: FloatArray | None = None
    dlat: FloatArray | None = None


def report_observations(
    rng: np.random.Generator,
    layout: Layout,
    times: tuple[datetime, ...],
    intensity: FloatArray,
    balance: FloatArray,
    cfg: OutbreakConfig,
) -> list[Observation]:
    """All reports of the truth, ordered by ``observed_at`` then ``id``."""
    truth = _Truth(
        start=times[0],
        window_s=int((times[-1] - times[0]).total_seconds()),
        step_s=cfg.step_hours * 3600.0,
        intensity=intensity,
        balance=balance,
    )
    batches = (
        _sensors(rng, layout, truth, cfg),
        _drones(rng, layout, truth, cfg),
        _people(rng, layout, truth, cfg),
        _model(rng, layout, truth, cfg),
    )
    observations = [obs for batch in batches for obs in _build(batch, layout, truth.start)]
    observations.sort(key=lambda o: (o.observed_at, o.id))
    return observations


def _sensors(
    rng: np.random.Generator, layout: Layout, truth: _Truth, cfg: OutbreakConfig
) -> _Batch:
    n = max(1, round(cfg.sensor_tier_fraction * layout.n_tiers))
    tiers = np.sort(rng.choice(layout.n_tiers, size=n, replace=False))
    offset_s = rng.integers(0, 3600, size=n)
    bias = rng.normal(0.0, cfg.sensor_bias_sd, size=n)
    interval_s = round(cfg.sensor_interval_hours * 3600)
    k = np.arange(truth.window_s // interval_s + 1)
    t_s = k[None, :] * interval_s + offset_s[:, None]
    keep = (t_s <= truth.window_s) & (rng.random(t_s.shape) >= cfg.sensor_dropout)
    rows, cols = np.nonzero(keep)
    tier, t = tiers[rows], t_s[rows, cols]
    value = truth.at(truth.intensity, tier, t) + bias[rows]
    mb = truth.at(truth.balance, tier, t)
    return _Batch(
        source=Source.SENSOR,
        tiers=tier,
        t_s=t,
        seq=k[cols],
        intensity=value + rng.normal(0.0, cfg.sensor_noise_sd, size=t.size),
        confidence=cfg.sensor_confidence,
        balance=np.clip(mb + rng.normal(0.0, cfg.sensor_balance_noise_sd, size=t.size), 0, 1),
    )


def _midnight_s(start: datetime) -> float:
    """Seconds from ``start`` to the UTC midnight that begins its day (<= 0)."""
    return (start.replace(hour=0, minute=0, second=0, microsecond=0) - start).total_seconds()


def _first_after(start: datetime, hour_utc: float, period_s: int) -> int:
    """Seconds from ``start`` to the first instant ``hour_utc + k * period_s`` of its day."""
    anchor = _midnight_s(start) + hour_utc * 3600.0
    k = max(0, math.ceil(-anchor / period_s))
    return round(anchor + k * period_s)


def _drones(rng: np.random.Generator, layout: Layout, truth: _Truth, cfg: OutbreakConfig) -> _Batch:
    interval_s = round(cfg.drone_interval_days * 86400)
    first = _first_after(truth.start, cfg.drone_hour_utc, 86400)
    n_towers = len(layout.tower_ids)
    per_pass = max(1, round(cfg.drone_tower_fraction * n_towers))
    tiers: list[int] = []
    t_s: list[int] = []
    seq: list[int] = []
    for p, take_off in enumerate(range(first, truth.window_s + 1, interval_s)):
        visited = rng.choice(n_towers, size=per_pass, replace=False)
        route = visited[np.argsort(layout.tower_x_m[visited])]  # sweep west to east
        for stop, tower in enumerate(route):
            at = take_off + round((stop + 1) * cfg.drone_seconds_per_tower)
            if at > truth.window_s:
                break
            for k in layout.tower_tiers[int(tower)][-cfg.drone_top_tiers :]:
                tiers.append(int(k))
                t_s.append(at)
                seq.append(p)
    tier = np.array(tiers, dtype=np.int64)
    t = np.array(t_s, dtype=np.int64)
    return _Batch(
        source=Source.DRONE,
        tiers=tier,
        t_s=t,
        seq=np.array(seq, dtype=np.int64),
        intensity=truth.at(truth.intensity, tier, t)
        + rng.normal(0.0, cfg.drone_noise_sd, size=t.size),
        confidence=cfg.drone_confidence,
        height_m=layout.z_m[tier],
    )


def _people(rng: np.random.Generator, layout: Layout, truth: _Truth, cfg: OutbreakConfig) -> _Batch:
    first_midnight = _midnight_s(truth.start)
    n_days = truth.window_s // 86400 + 2
    counts = rng.poisson(cfg.person_reports_per_day, size=n_days)
    day = np.repeat(np.arange(n_days), counts)
    lo, hi = cfg.person_hours_utc
    drawn = first_midnight + day * 86400 + np.round(rng.uniform(lo, hi, size=day.size) * 3600)
    t = np.sort(drawn[(drawn >= 0) & (drawn <= truth.window_s)]).astype(np.int64)
    tiers = np.empty(t.size, dtype=np.int64)
    all_tiers = np.arange(layout.n_tiers)
    for j, moment in enumerate(t):
        seen = truth.at(truth.intensity, all_tiers, np.full(layout.n_tiers, moment))
        weight = 1.0 + cfg.person_attention * seen
        tiers[j] = rng.choice(layout.n_tiers, p=weight / weight.sum())
    value = truth.at(truth.intensity, tiers, t) + rng.normal(0.0, cfg.person_noise_sd, t.size)
    east, north = rng.normal(0.0, cfg.person_jitter_m, size=(2, t.size))
    return _Batch(
        source=Source.PERSON,
        tiers=tiers,
        t_s=t,
        seq=np.arange(t.size),
        intensity=np.round(np.clip(value, 0.0, 1.0) * 10.0) / 10.0,
        confidence=cfg.person_confidence,
        dlon=east / (_M_PER_DEG_LAT * np.cos(np.radians(layout.lat[tiers]))),
        dlat=north / _M_PER_DEG_LAT,
    )


def _model(rng: np.random.Generator, layout: Layout, truth: _Truth, cfg: OutbreakConfig) -> _Batch:
    n = max(1, round(cfg.model_tier_fraction * layout.n_tiers))
    tiers = np.sort(rng.choice(layout.n_tiers, size=n, replace=False))
    interval_s = round(cfg.model_interval_hours * 3600)
    first = _first_after(truth.start, 0.0, interval_s)
    runs = np.arange(first, truth.window_s + 1, interval_s, dtype=np.int64)
    tier = np.repeat(tiers, runs.size)
    t = np.tile(runs, tiers.size)
    seen = np.maximum(t - round(cfg.model_lag_hours * 3600), 0)
    return _Batch(
        source=Source.MODEL,
        tiers=tier,
        t_s=t,
        seq=np.tile(np.arange(runs.size), tiers.size),
        intensity=truth.at(truth.intensity, tier, seen)
        + rng.normal(0.0, cfg.model_noise_sd, size=t.size),
        confidence=cfg.model_confidence,
    )


def _build(batch: _Batch, layout: Layout, start: datetime) -> list[Observation]:
    """Turn a batch into Observations (intensity clipped to [0, 1], 4 decimals)."""
    value = np.round(np.clip(batch.intensity, 0.0, 1.0), 4)
    lon = layout.lon[batch.tiers] + (0.0 if batch.dlon is None else batch.dlon)
    lat = layout.lat[batch.tiers] + (0.0 if batch.dlat is None else batch.dlat)
    out: list[Observation] = []
    for j, k in enumerate(batch.tiers):
        tower_id, level = layout.tier_index[int(k)]
        out.append(
            Observation(
                id=f"demo-{batch.source.value}-{tower_id}-{level}-{int(batch.seq[j]):04d}",
                lon=round(float(lon[j]), 8),
                lat=round(float(lat[j]), 8),
                observed_at=start + timedelta(seconds=int(batch.t_s[j])),
                intensity=float(value[j]),
                source=batch.source,
                height_ellipsoid_m=(
                    None if batch.height_m is None else round(float(batch.height_m[j]), 2)
                ),
                confidence=batch.confidence,
                microbial_balance=(
                    None if batch.balance is None else round(float(batch.balance[j]), 4)
                ),
                tower_id=tower_id,
                tier=level,
            )
        )
    return out
