"""A second outbreak simulator, written from its own specification.

It shares no code and no assumptions with ``geo/demo`` (plants, Gaussian plume,
microbial balance) nor with the forecast model (Poisson spores, logistic growth):

* **Places**: 20-45 towers scattered over a square of 220-420 m near Amsterdam, at least
  14 m apart, each with 3-9 tiers 1.8-3.6 m apart (towers of different heights).
* **Infection** is a force of infection, not a count of spores: each day a healthy
  tier ``j`` is infected with probability ``1 - exp(-beta * sum_i w_ij I_i)``.
  Within a tower ``w = within * exp(-|dz| / 2.5 m)`` (fast spread between the tiers of
  one tower). Between towers ``w = k(d) * wind * exp(-z_j / 12 m)`` with ``k`` a
  **power law** ``(1 + d / d0)^-alpha`` or a **gravity** kernel ``tiers_a^0.5 tiers_b /
  (d + 5)^gamma`` (scaled to the power law's magnitude at 20 m), and a wind factor
  ``1 + strength cos(bearing - wind_today)`` whose direction **turns** each day (a
  drift plus a random walk).
* **Growth**: **Gompertz** (``ln I`` shrinks by ``e^-r`` a day; ``r`` log-normal per
  tier) or **linear** (``I += g`` a day, ``g`` log-normal per tier), from a new
  infection at 0.002-0.01: the first days of an infection are invisible to sensors.
* **Reports**: sensors on 35-70 % of the tiers, each **biased** (gain 0.85-1.2, offset
  -0.01 to +0.03) and **noisy** (sd 0.01-0.05), some reading **a day late**
  (detection lag), one to three readings a day; a drone flies every 2-4 days over
  half the towers (all tiers, sd 0.06); whole **days are missing** (no reports) with
  probability 0.1, and single readings are dropped with probability 0.1.

The outbreak starts 2-6 days before the first report from 1-3 towers. A world is
fully determined by its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from shapely.geometry import box

from geo.layer import Tier, Tower
from geo.observations import Observation, Source

__all__ = ["World", "make_world"]

LON0, LAT0 = 4.90, 52.37
M_PER_DEG_LAT = 111_132.0
FIRST_REPORT = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True, eq=False)
class World:
    """One outbreak world.

    Attributes
    ----------
    seed : int
    towers : tuple of Tower
    tier_tower : numpy.ndarray of int, shape (n,)
        Tower index of each tier (in ``towers``), and ``tier_level`` its level.
    tier_level : numpy.ndarray of int
    truth : numpy.ndarray, shape (days, n)
        True intensity of each tier at the start of each report day (day 0 = the
        first report day).
    observations : tuple of Observation
        Reports on days ``0 .. history_days - 1``.
    history_days : int
    description : dict
        The world's drawn settings (kernel, growth, wind...).
    """

    seed: int
    towers: tuple[Tower, ...]
    tier_tower: np.ndarray
    tier_level: np.ndarray
    truth: np.ndarray
    observations: tuple[Observation, ...]
    history_days: int
    description: dict[str, object]

    def tower_truth(self, day: int, threshold: float) -> np.ndarray:
        """Whether each tower has a tier above ``threshold`` on ``day``."""
        hit = self.truth[day] > threshold
        return np.bincount(self.tier_tower[hit], minlength=len(self.towers)) > 0


def _to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon = LON0 + x / (M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
    return lon, LAT0 + y / M_PER_DEG_LAT


def _place(rng: np.random.Generator, n: int, side: float) -> np.ndarray:
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        p = rng.uniform(0.0, side, 2)
        if all(math.hypot(p[0] - q[0], p[1] - q[1]) >= 14.0 for q in pts):
            pts.append((float(p[0]), float(p[1])))
    return np.array(pts)


def _towers(rng: np.random.Generator, xy: np.ndarray) -> tuple[list[Tower], np.ndarray]:
    towers, heights = [], []
    for k, (x, y) in enumerate(xy):
        count, gap = int(rng.integers(3, 10)), float(rng.uniform(1.8, 3.6))
        zs = [0.8 + gap * level for level in range(count)]
        heights.append(zs)
        lo = _to_lonlat(x - 3.0, y - 3.0)
        hi = _to_lonlat(x + 3.0, y + 3.0)
        towers.append(
            Tower(
                id=f"w{k:03d}",
                footprint_wgs84=box(lo[0], lo[1], hi[0], hi[1]),
                base_height_m=float(rng.uniform(40.0, 46.0)),
                height_m=zs[-1] + gap,
                tiers=tuple(Tier(level=i, height_m=z) for i, z in enumerate(zs)),
            )
        )
    return towers, np.array([z for zs in heights for z in zs])


def _kernel(rng: np.random.Generator, d: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, dict]:
    """(towers, towers) between-tower weights and the kernel's description."""
    if rng.random() < 0.5:
        d0, alpha = float(rng.uniform(5.0, 20.0)), float(rng.uniform(2.0, 3.5))
        return (1.0 + d / d0) ** -alpha, {"kernel": "power", "d0_m": d0, "alpha": alpha}
    gamma = float(rng.uniform(1.5, 2.5))
    k = np.sqrt(size)[:, None] * size[None, :] / (d + 5.0) ** gamma
    ref = float(np.sqrt(6.0) * 6.0 / 25.0**gamma) / (1.0 + 20.0 / 10.0) ** -2.5
    return k / ref, {"kernel": "gravity", "gamma": gamma}


def _growth(rng: np.random.Generator, n: int) -> tuple[str, np.ndarray]:
    if rng.random() < 0.5:
        r0 = float(rng.uniform(0.12, 0.3))
        return "gompertz", r0 * np.exp(0.3 * rng.standard_normal(n))
    g0 = float(rng.uniform(0.025, 0.07))
    return "linear", g0 * np.exp(0.3 * rng.standard_normal(n))


def _grow(kind: str, rate: np.ndarray, i: np.ndarray) -> np.ndarray:
    out = i.copy()
    on = i > 0.0
    if kind == "gompertz":
        out[on] = np.exp(np.log(i[on]) * np.exp(-rate[on]))
    else:
        out[on] = np.minimum(i[on] + rate[on], 1.0)
    return np.minimum(out, 0.999)


def _simulate(rng: np.random.Generator, xy: np.ndarray, tower_of: np.ndarray, z: np.ndarray,
              days: int, lead: int) -> tuple[np.ndarray, dict]:
    n, t = z.size, xy.shape[0]
    size = np.bincount(tower_of, minlength=t).astype(float)
    dx = xy[None, :, 0] - xy[:, None, 0]
    dy = xy[None, :, 1] - xy[:, None, 1]
    dist = np.hypot(dx, dy)
    bearing = np.arctan2(dx, dy)  # from tower a (row) to b (column), clockwise from north
    kern, desc = _kernel(rng, dist, size)
    np.fill_diagonal(kern, 0.0)
    kind, rate = _growth(rng, n)
    within = float(rng.uniform(0.6, 1.5))
    beta = float(rng.uniform(0.5, 1.2))
    strength = float(rng.uniform(0.0, 0.9))
    wind, turn = float(rng.uniform(-math.pi, math.pi)), float(rng.uniform(-0.25, 0.25))
    same = tower_of[:, None] == tower_of[None, :]
    w_in = np.where(same, within * np.exp(-np.abs(z[:, None] - z[None, :]) / 2.5), 0.0)
    np.fill_diagonal(w_in, 0.0)
    low = np.exp(-z / 12.0)
    i = np.zeros(n)
    for k in rng.choice(t, int(rng.integers(1, 4)), replace=False):
        tiers = np.flatnonzero(tower_of == k)
        pick = rng.choice(tiers, max(1, tiers.size // 3), replace=False)
        i[pick] = rng.uniform(0.01, 0.08, pick.size)
    truth = np.empty((days, n))
    for day in range(-lead, days):
        if day >= 0:
            truth[day] = i
        wind += turn + float(rng.normal(0.0, math.radians(15.0)))
        between = kern * (1.0 + strength * np.cos(bearing - wind))
        tower_load = np.bincount(tower_of, weights=i, minlength=t)
        pressure = w_in.T @ i + (between.T @ tower_load)[tower_of] * low
        new = (i == 0.0) & (rng.random(n) < 1.0 - np.exp(-beta * pressure))
        i = _grow(kind, rate, i)
        i[new] = rng.uniform(0.002, 0.01, int(new.sum()))
    desc.update(growth=kind, within=within, beta=beta, wind_strength=strength,
                wind_turn_rad_per_day=turn, lead_days=lead)
    return truth, desc


def _reports(rng: np.random.Generator, towers: list[Tower], tower_of: np.ndarray,
             level: np.ndarray, xy: np.ndarray, truth: np.ndarray,
             history: int) -> list[Observation]:
    n = level.size
    sensor = rng.random(n) < rng.uniform(0.35, 0.7)
    gain, offset = rng.uniform(0.85, 1.2, n), rng.uniform(-0.01, 0.03, n)
    noise, lag = rng.uniform(0.01, 0.05, n), (rng.random(n) < 0.3).astype(int)
    every = int(rng.integers(2, 5))
    out: list[Observation] = []

    def add(h: int, day: int, value: float, source: Source, tag: str) -> None:
        moment = FIRST_REPORT + timedelta(days=day, hours=float(rng.uniform(0.5, 23.0)))
        if day == history - 1:
            moment = FIRST_REPORT + timedelta(days=day, hours=float(rng.uniform(0.5, 11.0)))
        lon, lat = _to_lonlat(*xy[tower_of[h]])
        out.append(Observation(
            id=f"{tag}-{h}-{day}-{len(out)}", lon=lon, lat=lat, observed_at=moment,
            intensity=float(np.clip(value, 0.0, 1.0)), source=source,
            tower_id=towers[tower_of[h]].id, tier=int(level[h]),
        ))

    for day in range(history):
        if 0 < day < history - 1 and rng.random() < 0.1:
            continue  # an outage: nothing reported that day
        for h in np.flatnonzero(sensor):
            for _ in range(int(rng.integers(1, 4))):
                if rng.random() < 0.1:
                    continue
                true = truth[max(day - lag[h], 0), h]
                add(h, day, gain[h] * true + offset[h] + noise[h] * rng.standard_normal(),
                    Source.SENSOR, "s")
        if day % every == 0:
            flown = rng.random(len(towers)) < 0.5
            for h in np.flatnonzero(flown[tower_of]):
                add(h, day, truth[day, h] + 0.06 * rng.standard_normal(), Source.DRONE, "d")
    return out


def make_world(seed: int, history_days: int = 16, forecast_days: int = 14) -> World:
    """The world of ``seed``: reports on ``history_days`` days and the truth for
    ``forecast_days`` more."""
    rng = np.random.default_rng([seed, 20261208])
    t = int(rng.integers(20, 46))
    xy = _place(rng, t, float(rng.uniform(220.0, 420.0)))
    towers, z = _towers(rng, xy)
    tower_of = np.repeat(np.arange(t), [len(tw.tiers) for tw in towers])
    level = np.concatenate([[tier.level for tier in tw.tiers] for tw in towers])
    days = history_days + forecast_days
    truth, desc = _simulate(rng, xy, tower_of, z, days, int(rng.integers(2, 7)))
    obs = _reports(rng, towers, tower_of, level, xy, truth, history_days)
    desc.update(towers=t, tiers=int(level.size))
    return World(seed, tuple(towers), tower_of, level, truth, tuple(obs), history_days, desc)
