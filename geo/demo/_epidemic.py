"""The plant-level epidemic of the outbreak simulator (private).

:class:`Layout` flattens a district into per-tier arrays; :func:`run_epidemic` steps the
plant loads and the microbial balance through time. The model is documented in
:mod:`geo.demo.outbreak`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo.demo._frame import LocalFrame
from geo.demo._plume import Wind, horizontal_dilution, vertical_factor
from geo.demo.config import OutbreakConfig
from geo.layer import Tower

__all__ = ["Layout", "Run", "run_epidemic"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _tier_pairs(
    a: IntArray, b: IntArray, first: IntArray, counts: IntArray
) -> tuple[IntArray, IntArray]:
    """Every (source tier, receiving tier) pair of the tower pairs ``(a[j], b[j])``."""
    lengths = counts[a] * counts[b]
    starts = np.cumsum(lengths) - lengths
    j = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
    n_b = np.repeat(counts[b], lengths)
    return np.repeat(first[a], lengths) + j // n_b, np.repeat(first[b], lengths) + j % n_b


@dataclass(frozen=True)
class Layout:
    """Per-tier arrays of a district (tiers ordered by tower, then level)."""

    tower_ids: tuple[str, ...]
    tier_index: tuple[tuple[str, int], ...]
    tower_of_tier: IntArray
    tower_tiers: tuple[IntArray, ...]
    tower_x_m: FloatArray
    tower_y_m: FloatArray
    tier_first: IntArray
    tier_count: IntArray
    z_m: FloatArray
    agl_m: FloatArray
    lon: FloatArray
    lat: FloatArray
    susceptibility: FloatArray
    below: IntArray
    above: IntArray

    @classmethod
    def build(cls, towers: Sequence[Tower], cfg: OutbreakConfig) -> Layout:
        """Flatten ``towers``; raises ValueError on no towers, no tiers or repeated ids."""
        if not towers:
            raise ValueError("towers must not be empty")
        ids = tuple(t.id for t in towers)
        if len(set(ids)) != len(ids):
            raise ValueError("tower ids must be unique")
        if any(not t.tiers for t in towers):
            raise ValueError("every tower needs at least one tier")
        centroids = np.array([t.centroid_lonlat for t in towers])
        frame = LocalFrame(float(centroids[:, 0].mean()), float(centroids[:, 1].mean()))
        tx, ty = frame.to_local(centroids[:, 0], centroids[:, 1])
        counts = np.array([len(t.tiers) for t in towers])
        tower_of = np.repeat(np.arange(len(towers)), counts)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        levels = np.concatenate([np.arange(n) for n in counts])
        agl = np.array([tier.height_m for t in towers for tier in t.tiers])
        base = np.repeat([t.base_height_m for t in towers], counts)
        idx = np.arange(len(tower_of))
        return cls(
            tower_ids=ids,
            tier_index=tuple((t.id, tier.level) for t in towers for tier in t.tiers),
            tower_of_tier=tower_of,
            tower_tiers=tuple(np.arange(f, f + n) for f, n in zip(first, counts, strict=True)),
            tower_x_m=tx,
            tower_y_m=ty,
            tier_first=first,
            tier_count=counts,
            z_m=base + agl,
            agl_m=agl,
            lon=centroids[tower_of, 0],
            lat=centroids[tower_of, 1],
            susceptibility=np.array(
                [cfg.susceptibility(tier.crop) for t in towers for tier in t.tiers]
            ),
            below=np.where(levels > 0, idx - 1, -1),
            above=np.where(levels < counts[tower_of] - 1, idx + 1, -1),
        )

    @property
    def n_tiers(self) -> int:
        """Number of tiers in the district."""
        return len(self.tier_index)


@dataclass(frozen=True)
class Run:
    """Result of :func:`run_epidemic`: arrays of shape (n_steps, n_tiers)."""

    intensity: FloatArray
    balance: FloatArray
    index_tiers: tuple[int, ...]


def _initial_balance(rng: np.random.Generator, layout: Layout, cfg: OutbreakConfig) -> FloatArray:
    """Baseline microbial balance of each tier: a tower mean plus a tier deviation."""
    tower_mean = rng.beta(cfg.balance_alpha, cfg.balance_beta, size=len(layout.tower_ids))
    tier = tower_mean[layout.tower_of_tier] + rng.normal(
        0.0, cfg.balance_tier_sd, size=layout.n_tiers
    )
    return np.clip(tier, 0.02, 0.98)


def _seed_outbreak(
    rng: np.random.Generator,
    layout: Layout,
    loads: FloatArray,
    balance: FloatArray,
    cfg: OutbreakConfig,
) -> tuple[int, ...]:
    """Infect the index tiers in place; return their indices."""
    n_index = int(rng.integers(1, cfg.index_towers_max + 1))
    n_index = min(n_index, len(layout.tower_ids))
    towers = rng.choice(len(layout.tower_ids), size=n_index, replace=False)
    index_tiers: list[int] = []
    n_plants = min(cfg.index_plants, loads.shape[1])
    for tower in sorted(int(t) for t in towers):
        k = int(rng.choice(layout.tower_tiers[tower]))
        plants = rng.choice(loads.shape[1], size=n_plants, replace=False)
        loads[k, plants] = np.clip(cfg.index_load * rng.uniform(0.5, 1.5, n_plants), 0.0, 1.0)
        balance[k] = min(balance[k], cfg.index_balance)
        index_tiers.append(k)
    return tuple(index_tiers)


def _dose(
    layout: Layout, emission: FloatArray, speed: float, from_deg: float, cfg: OutbreakConfig
) -> FloatArray:
    """Spores deposited on one plant of each tier during a step (steps 3 and 4)."""
    dt_s = cfg.step_hours * 3600.0
    n = cfg.plants_per_tier
    below = np.where(layout.below >= 0, emission[layout.below], 0.0)
    above = np.where(layout.above >= 0, emission[layout.above], 0.0)
    dose = (
        dt_s
        / n
        * (
            cfg.same_tier_fraction * emission
            + cfg.tier_up_fraction * below
            + cfg.tier_down_fraction * above
        )
    )
    towers = np.unique(layout.tower_of_tier[emission > 0.0])
    if towers.size:
        horizontal, sigma_z = horizontal_dilution(
            layout.tower_x_m[None, :] - layout.tower_x_m[towers, None],
            layout.tower_y_m[None, :] - layout.tower_y_m[towers, None],
            speed,
            from_deg,
            cfg.plume_params(),
        )
        row, b = np.nonzero(horizontal)  # never a tower with itself: it is not downwind
        a = towers[row]
        src, rcv = _tier_pairs(a, b, layout.tier_first, layout.tier_count)
        lengths = layout.tier_count[a] * layout.tier_count[b]
        contribution = (
            emission[src]
            * np.repeat(horizontal[row, b], lengths)
            * vertical_factor(
                layout.z_m[src],
                layout.z_m[rcv],
                layout.agl_m[src],
                layout.agl_m[rcv],
                np.repeat(sigma_z[row, b], lengths),
            )
        )
        concentration = np.bincount(rcv, weights=contribution, minlength=layout.n_tiers)
        dose += concentration * cfg.deposition_velocity_m_s * cfg.capture_area_m2 * dt_s
    return dose


def run_epidemic(rng: np.random.Generator, layout: Layout, wind: Wind, cfg: OutbreakConfig) -> Run:
    """Step plant loads and microbial balance over the wind series (steps 1-7)."""
    n_steps = wind.speed_m_s.size
    n_tiers, n_plants = layout.n_tiers, cfg.plants_per_tier
    dt_days = cfg.step_hours / 24.0
    loads = np.zeros((n_tiers, n_plants))
    baseline = _initial_balance(rng, layout, cfg)
    balance = baseline.copy()
    index_tiers = _seed_outbreak(rng, layout, loads, balance, cfg)
    rates = cfg.growth_rate_per_day * np.exp(
        cfg.growth_rate_sd_log * rng.standard_normal((n_tiers, n_plants))
    )
    growth = np.exp(rates * dt_days)
    intensity = np.empty((n_steps, n_tiers))
    balances = np.empty((n_steps, n_tiers))
    intensity[0], balances[0] = loads.mean(axis=1), balance
    for k in range(1, n_steps):
        emission = cfg.spores_per_load_s * loads.sum(axis=1)
        dose = _dose(layout, emission, float(wind.speed_m_s[k]), float(wind.from_deg[k]), cfg)
        hazard = (
            cfg.infection_per_spore
            * dose
            * layout.susceptibility
            * (1.0 - cfg.balance_protection * balance)
        )
        infected = loads > 0.0
        loads = loads * growth / (1.0 + loads * (growth - 1.0))
        recovering = infected & (loads < cfg.recovery_load)
        decay = np.exp(-cfg.recovery_rate_per_day * dt_days * balance)[:, None]
        loads = np.where(recovering, loads * decay, loads)
        loads[loads < cfg.clear_load] = 0.0
        new = ~infected & (rng.random((n_tiers, n_plants)) < -np.expm1(-hazard)[:, None])
        loads[new] = cfg.initial_load
        tier_load = loads.mean(axis=1)
        balance = np.clip(
            balance
            + dt_days * (baseline - balance) / cfg.balance_reversion_days
            - dt_days * cfg.balance_damage_per_day * tier_load
            + cfg.balance_noise_per_sqrt_day * math.sqrt(dt_days) * rng.standard_normal(n_tiers),
            0.0,
            1.0,
        )
        intensity[k], balances[k] = tier_load, balance
    return Run(intensity=intensity, balance=balances, index_tiers=index_tiers)
