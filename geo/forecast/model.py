"""A PoPS-style stochastic spread model of blight over the tiers of farm towers.

After the Pest or Pathogen Spread model (PoPS, NC State): every tier of every tower is
a *host*; each day infected hosts release spores, spores disperse within a tower or
between towers, may establish on the host they reach, and infections grow.

One day (:func:`step`) for host ``h`` with intensity ``i_h`` in [0, 1]:

1. Spores released: ``S_h ~ Poisson(reproductive_rate * i_h * environment)``
   (spores per day; removed hosts release none).
2. Each spore, with probability ``within_tower_fraction``, stays in its tower and lands
   on tier ``j`` with probability ``∝ exp(-|z_j - z_h| / vertical_scale_m)``.
3. Otherwise it travels a distance ``d`` (m) from the long kernel with probability
   ``long_fraction``, else from the short kernel (see :func:`sample_distances`), on a
   bearing ``θ ~ vonMises(wind_dir_deg, wind_kappa)`` (clockwise from north, the
   direction spores travel towards): ``x' = x_h + d sin θ``, ``y' = y_h + d cos θ``.
   It is captured by the nearest tower whose centroid lies within
   ``capture_radius_m`` of the landing point (lost otherwise) and lands on tier ``j``
   with probability ``∝ exp(-z_j / vertical_scale_m)`` (heights above the base).
4. A spore reaching a healthy host ``k`` establishes with probability
   ``clip(susceptible_fraction_k * (1 - protection_k) * environment, 0, 1)``; the host
   becomes exposed, or infected at ``initial_intensity`` when ``latency_days == 0``.
5. Exposed hosts become infected at ``initial_intensity`` after ``latency_days``.
6. Infected hosts grow logistically, ``di/dt = r i (1 - i)`` with
   ``r = growth_rate_per_day * (1 - protection)`` per day, integrated exactly over the
   day: ``i' = i e^r / (1 - i + i e^r)`` (the Euler step ``i + r i (1 - i)`` to first
   order, but always within [0, 1] and equal to the closed form
   ``i(t) = 1 / (1 + (1/i0 - 1) e^{-r t})`` over many days). With process noise
   (``growth_sd_per_day > 0``) each infected host draws its own rate every day,
   ``r = (growth_rate_per_day + growth_sd_per_day z) (1 - protection)``, ``z ~ N(0, 1)``:
   its logit intensity is a random walk with drift (a negative draw is a day of decline).

Removed hosts never change. The model is pure numpy; every random draw comes from
the :class:`numpy.random.Generator` handed in, so runs are reproducible for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from geo.crs import LocalFrame
from geo.errors import InvalidParameter
from geo.forecast.checks import check_finite_in, check_positive
from geo.layer import Tower

__all__ = [
    "Hosts",
    "Kernel",
    "SpreadParams",
    "SpreadState",
    "check_protection_by_day",
    "run",
    "sample_distances",
    "step",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Kernel = Literal["cauchy", "exponential"]
_KERNELS = ("cauchy", "exponential")


@dataclass(frozen=True, eq=False)
class Hosts:
    """The hosts of the model: one per tower tier, in a local metric frame.

    Attributes
    ----------
    x_m, y_m : numpy.ndarray of float, shape (n,)
        Local-frame easting and northing of the host's tower centroid, metres.
    z_m : numpy.ndarray of float, shape (n,)
        Height of the tier above its tower's base, metres.
    tower_index : numpy.ndarray of int, shape (n,)
        Index of the host's tower (into ``tower_ids`` when given); hosts of one tower
        share it and must share ``x_m, y_m``.
    susceptible_fraction : numpy.ndarray of float, shape (n,)
        In [0, 1]; 1 = fully susceptible (e.g. from the microbial balance).
    protection : numpy.ndarray of float, shape (n,)
        In [0, 1], from treatments (see :func:`geo.treatments.tier_protection`).
    removed : numpy.ndarray of bool, shape (n,)
        Removed hosts (harvested, cleared) never change and release no spores.
    level : numpy.ndarray of int, shape (n,)
        Tier level within its tower (defaults to zeros).
    tower_ids : tuple of str
        Tower identifiers indexed by ``tower_index`` (defaults to ``"0", "1", ...``).

    Raises
    ------
    InvalidParameter
        If the arrays differ in length, are empty, or hold out-of-range values.
    """

    x_m: FloatArray
    y_m: FloatArray
    z_m: FloatArray
    tower_index: IntArray
    susceptible_fraction: FloatArray
    protection: FloatArray
    removed: BoolArray
    level: IntArray | None = None
    tower_ids: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        floats = ("x_m", "y_m", "z_m", "susceptible_fraction", "protection")
        for name in floats:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        object.__setattr__(self, "tower_index", np.asarray(self.tower_index, dtype=np.int64))
        object.__setattr__(self, "removed", np.asarray(self.removed, dtype=np.bool_))
        n = self.x_m.shape[0] if self.x_m.ndim == 1 else -1
        level = np.zeros(max(n, 0), np.int64) if self.level is None else self.level
        object.__setattr__(self, "level", np.asarray(level, dtype=np.int64))
        names = (*floats, "tower_index", "removed", "level")
        if n < 1 or any(getattr(self, a).shape != (n,) for a in names):
            raise InvalidParameter("host arrays must be 1-D, non-empty, of equal length", "hosts")
        for name in floats:
            if not np.all(np.isfinite(getattr(self, name))):
                raise InvalidParameter("must hold finite numbers", name)
        for name in ("susceptible_fraction", "protection"):
            arr = getattr(self, name)
            if np.any((arr < 0.0) | (arr > 1.0)):
                raise InvalidParameter("must be within [0, 1]", name)
        if np.any(self.tower_index < 0):
            raise InvalidParameter("must be >= 0", "tower_index")
        if not self.tower_ids:
            ids = tuple(str(k) for k in range(int(self.tower_index.max()) + 1))
            object.__setattr__(self, "tower_ids", ids)
        if int(self.tower_index.max()) >= len(self.tower_ids):
            raise InvalidParameter("must index into tower_ids", "tower_index")

    @property
    def n(self) -> int:
        """Number of hosts."""
        return int(self.x_m.shape[0])

    @classmethod
    def from_towers(
        cls,
        towers: Iterable[Tower],
        frame: LocalFrame,
        susceptible_fraction: Mapping[tuple[str, int], float] | None = None,
        protection: Mapping[tuple[str, int], float] | None = None,
        removed: Collection[tuple[str, int]] = (),
    ) -> Hosts:
        """One host per tier of each tower, at the tower's footprint centroid.

        Parameters
        ----------
        towers : iterable of Tower
            Towers without tiers give no hosts (but keep their ``tower_index``).
        frame : LocalFrame
            Metric frame for ``x_m, y_m``.
        susceptible_fraction, protection : mapping of (tower_id, level) to float
            Missing tiers default to 1 (susceptible) and 0 (unprotected); the output of
            :func:`geo.treatments.tier_protection` fits ``protection``.
        removed : collection of (tower_id, level)
            Tiers to mark removed.

        Raises
        ------
        InvalidParameter
            If no tower has a tier or a value is out of range.
        """
        sus = susceptible_fraction or {}
        prot = protection or {}
        tower_list = list(towers)
        rows: list[tuple[float, float, float, int, float, float, bool, int]] = []
        for t_idx, tower in enumerate(tower_list):
            c = frame.geometry_to_local(tower.footprint_wgs84).centroid
            for tier in tower.tiers:
                key = (tower.id, tier.level)
                rows.append(
                    (
                        float(c.x),
                        float(c.y),
                        tier.height_m,
                        t_idx,
                        float(sus.get(key, 1.0)),
                        float(prot.get(key, 0.0)),
                        key in removed,
                        tier.level,
                    )
                )
        if not rows:
            raise InvalidParameter("need at least one tower with a tier", "towers")
        cols = list(zip(*rows, strict=True))
        return cls(
            x_m=np.array(cols[0], dtype=np.float64),
            y_m=np.array(cols[1], dtype=np.float64),
            z_m=np.array(cols[2], dtype=np.float64),
            tower_index=np.array(cols[3], dtype=np.int64),
            susceptible_fraction=np.array(cols[4], dtype=np.float64),
            protection=np.array(cols[5], dtype=np.float64),
            removed=np.array(cols[6], dtype=np.bool_),
            level=np.array(cols[7], dtype=np.int64),
            tower_ids=tuple(t.id for t in tower_list),
        )

    @cached_property
    def layout(self) -> _Layout:
        """Towers present among the hosts, as padded blocks (cached)."""
        return _Layout.build(self)


@dataclass(frozen=True, eq=False)
class _Layout:
    """Hosts grouped by tower: ``members[t, r]`` is the r-th host of present tower t."""

    towers: IntArray  # (T,) tower_index value of each present tower
    pos: IntArray  # (n,) present-tower position of each host
    members: IntArray  # (T, M) host indices, -1 padding
    counts: IntArray  # (T,)
    tree: cKDTree

    @classmethod
    def build(cls, hosts: Hosts) -> _Layout:
        towers, pos = np.unique(hosts.tower_index, return_inverse=True)
        counts = np.bincount(pos, minlength=towers.size).astype(np.int64)
        order = np.argsort(pos, kind="stable")
        start = np.cumsum(counts) - counts
        rank = np.arange(hosts.n) - start[pos[order]]
        members = np.full((towers.size, int(counts.max())), -1, dtype=np.int64)
        members[pos[order], rank] = order
        first = members[:, 0]
        tree = cKDTree(np.column_stack((hosts.x_m[first], hosts.y_m[first])))
        return cls(towers.astype(np.int64), pos.astype(np.int64), members, counts, tree)

    def heights(self, hosts: Hosts) -> FloatArray:
        """(T, M) tier heights, NaN padding."""
        z = np.where(self.members >= 0, hosts.z_m[self.members], np.nan)
        return np.asarray(z, dtype=np.float64)


@dataclass(frozen=True)
class SpreadParams:
    """Parameters of :func:`step`; units are in the names.

    Attributes
    ----------
    reproductive_rate : float
        Spores released per day by a host at intensity 1 (>= 0).
    short_kernel, long_kernel : {"cauchy", "exponential"}
        Distance kernels between towers (see :func:`sample_distances`).
    short_scale_m, long_scale_m : float
        Kernel scales, metres (> 0).
    long_fraction : float
        Probability that a between-tower spore uses the long kernel, in [0, 1].
    wind_dir_deg : float
        Direction spores travel towards, degrees clockwise from north.
    wind_kappa : float
        Von Mises concentration of the bearing (>= 0; 0 = isotropic).
    vertical_scale_m : float
        Scale of the exponential kernel over tier height differences, metres (> 0).
    within_tower_fraction : float
        Probability a spore stays in its tower, in [0, 1].
    latency_days : int
        Days from establishment to infection (>= 0; 0 = no exposed stage).
    growth_rate_per_day : float
        Logistic growth rate of intensity, per day (>= 0).
    growth_sd_per_day : float
        Process noise: standard deviation of a host's daily growth rate around
        ``growth_rate_per_day``, per day (>= 0; 0 = deterministic growth).
    environment : float
        Weather/environment coefficient (>= 0; 1 = neutral); scales spore release and
        establishment.
    capture_radius_m : float
        A landing spore is captured by the nearest tower centroid within this, metres.
    max_distance_m : float
        Distance kernels are truncated at this, metres (> 0).
    initial_intensity : float
        Intensity of a new infection, in (0, 1].

    Raises
    ------
    InvalidParameter
        On any out-of-range value.
    """

    reproductive_rate: float = 4.0
    short_kernel: Kernel = "cauchy"
    short_scale_m: float = 20.0
    long_fraction: float = 0.0
    long_scale_m: float = 500.0
    long_kernel: Kernel = "exponential"
    wind_dir_deg: float = 0.0
    wind_kappa: float = 0.0
    vertical_scale_m: float = 3.0
    within_tower_fraction: float = 0.5
    latency_days: int = 0
    growth_rate_per_day: float = 0.1
    growth_sd_per_day: float = 0.0
    environment: float = 1.0
    capture_radius_m: float = 10.0
    max_distance_m: float = 5000.0
    initial_intensity: float = 0.05

    def __post_init__(self) -> None:
        for name in ("short_kernel", "long_kernel"):
            if getattr(self, name) not in _KERNELS:
                raise InvalidParameter(f"must be one of {', '.join(_KERNELS)}", name)
        for name in ("short_scale_m", "long_scale_m", "vertical_scale_m", "capture_radius_m"):
            check_positive(getattr(self, name), name)
        check_positive(self.max_distance_m, "max_distance_m")
        for name in ("long_fraction", "within_tower_fraction"):
            check_finite_in(getattr(self, name), name, 0.0, 1.0)
        rates = ("reproductive_rate", "wind_kappa", "growth_rate_per_day", "growth_sd_per_day")
        for name in (*rates, "environment"):
            check_finite_in(getattr(self, name), name, 0.0, 1e6)
        check_finite_in(self.wind_dir_deg, "wind_dir_deg", -360.0, 360.0)
        check_finite_in(self.initial_intensity, "initial_intensity", 1e-12, 1.0)
        if isinstance(self.latency_days, bool) or not isinstance(self.latency_days, int):
            raise InvalidParameter("must be an integer number of days", "latency_days")
        check_finite_in(self.latency_days, "latency_days", 0, 3650)


@dataclass(frozen=True, eq=False)
class SpreadState:
    """The state of all hosts on one day.

    Attributes
    ----------
    intensity : numpy.ndarray of float, shape (n,)
        Blight intensity in [0, 1]; > 0 means infected.
    exposed_days : numpy.ndarray of int, shape (n,)
        Days since establishment for exposed hosts, -1 for hosts not exposed.
    day : int
        Days since the start of the run.
    """

    intensity: FloatArray
    exposed_days: IntArray
    day: int = 0

    def __post_init__(self) -> None:
        intensity = np.asarray(self.intensity, dtype=np.float64)
        if intensity.ndim != 1 or not np.all((intensity >= 0.0) & (intensity <= 1.0)):
            raise InvalidParameter("must be a 1-D array within [0, 1]", "intensity")
        exposed = np.asarray(self.exposed_days, dtype=np.int64)
        if exposed.shape != intensity.shape or np.any(exposed < -1):
            raise InvalidParameter("must match intensity, values >= -1", "exposed_days")
        object.__setattr__(self, "intensity", intensity)
        object.__setattr__(self, "exposed_days", exposed)

    @classmethod
    def initial(cls, intensity: npt.ArrayLike) -> SpreadState:
        """Day 0 with the given intensities and no exposed hosts."""
        arr = np.asarray(intensity, dtype=np.float64)
        return cls(arr, np.full(arr.shape, -1, dtype=np.int64), 0)


def sample_distances(
    kernel: Kernel,
    scale_m: float,
    size: int,
    rng: np.random.Generator,
    max_distance_m: float = math.inf,
) -> FloatArray:
    """Draw dispersal distances (metres) from a kernel truncated at ``max_distance_m``.

    By inverse transform of ``u ~ U(0, F(max))``:

    - ``"cauchy"`` (half-Cauchy, heavy tail), ``F(d) = (2/π) arctan(d / scale)``,
      ``d = scale * tan(π u / 2)`` (= ``|scale * tan(π (u - 1/2))|`` in law);
    - ``"exponential"``, ``F(d) = 1 - exp(-d / scale)``, ``d = -scale * ln(1 - u)``.
    """
    if kernel not in _KERNELS:
        raise InvalidParameter(f"must be one of {', '.join(_KERNELS)}", "kernel")
    check_positive(scale_m, "scale_m")
    u = rng.random(size)
    if kernel == "cauchy":
        top = 2.0 / math.pi * math.atan(max_distance_m / scale_m)
        return np.asarray(scale_m * np.tan(0.5 * math.pi * u * top), dtype=np.float64)
    top = -math.expm1(-max_distance_m / scale_m)
    return np.asarray(-scale_m * np.log1p(-u * top), dtype=np.float64)


def _pick(cdf: FloatArray, rng: np.random.Generator) -> IntArray:
    """Column index drawn from each row's cumulative distribution."""
    u = rng.random((cdf.shape[0], 1))
    return np.asarray((cdf < u * cdf[:, -1:]).sum(axis=1), dtype=np.int64)


def _tier_in(
    hosts: Hosts, towers: IntArray, ref_z: FloatArray, scale_m: float, rng: np.random.Generator
) -> IntArray:
    """Host index of a tier of present tower ``towers[k]``, weighted by
    ``exp(-|z - ref_z[k]| / scale_m)``."""
    lay = hosts.layout
    z = lay.heights(hosts)[towers]
    weights = np.nan_to_num(np.exp(-np.abs(z - ref_z[:, None]) / scale_m), nan=0.0)
    col = np.minimum(_pick(np.cumsum(weights, axis=1), rng), lay.counts[towers] - 1)
    return np.asarray(lay.members[towers, col], dtype=np.int64)


def _disperse(
    hosts: Hosts, sources: IntArray, params: SpreadParams, rng: np.random.Generator
) -> IntArray:
    """Host reached by each spore released from ``sources`` (-1 for lost spores)."""
    lay = hosts.layout
    k = sources.size
    target = np.full(k, -1, dtype=np.int64)
    within = rng.random(k) < params.within_tower_fraction
    src_in = sources[within]
    target[within] = _tier_in(
        hosts, lay.pos[src_in], hosts.z_m[src_in], params.vertical_scale_m, rng
    )
    src_out = sources[~within]
    m = src_out.size
    long = rng.random(m) < params.long_fraction
    dist = np.empty(m)
    for mask, kernel, scale in (
        (long, params.long_kernel, params.long_scale_m),
        (~long, params.short_kernel, params.short_scale_m),
    ):
        dist[mask] = sample_distances(kernel, scale, int(mask.sum()), rng, params.max_distance_m)
    bearing = rng.vonmises(math.radians(params.wind_dir_deg), params.wind_kappa, m)
    land = np.column_stack(
        (hosts.x_m[src_out] + dist * np.sin(bearing), hosts.y_m[src_out] + dist * np.cos(bearing))
    )
    _, tower = lay.tree.query(land, distance_upper_bound=params.capture_radius_m)
    tower = np.asarray(tower, dtype=np.int64).reshape(m)
    hit = tower < lay.towers.size
    out_target = np.full(m, -1, dtype=np.int64)
    out_target[hit] = _tier_in(
        hosts, tower[hit], np.zeros(int(hit.sum())), params.vertical_scale_m, rng
    )
    target[~within] = out_target
    return target


def _establish(
    hosts: Hosts, state: SpreadState, params: SpreadParams, rng: np.random.Generator
) -> BoolArray:
    """Healthy hosts on which at least one spore establishes today."""
    active = (state.intensity > 0.0) & ~hosts.removed
    idx = np.flatnonzero(active)
    counts = rng.poisson(params.reproductive_rate * state.intensity[idx] * params.environment)
    sources = np.repeat(idx, counts)
    new = np.zeros(hosts.n, dtype=np.bool_)
    if sources.size == 0:
        return new
    target = _disperse(hosts, sources, params, rng)
    target = target[target >= 0]
    p = np.clip(hosts.susceptible_fraction * (1.0 - hosts.protection) * params.environment, 0, 1)
    took = rng.random(target.size) < p[target]
    new[target[took]] = True
    healthy = (state.intensity == 0.0) & (state.exposed_days < 0) & ~hosts.removed
    return new & healthy


def step(
    hosts: Hosts, state: SpreadState, params: SpreadParams, rng: np.random.Generator
) -> SpreadState:
    """Advance the model by one day (see the module docstring for the equations).

    Parameters
    ----------
    hosts : Hosts
    state : SpreadState
        Today's state; its arrays must have ``hosts.n`` entries.
    params : SpreadParams
    rng : numpy.random.Generator
        Source of every random draw.

    Returns
    -------
    SpreadState
        Tomorrow's state (``day + 1``); ``state`` is not modified.

    Raises
    ------
    InvalidParameter
        If the state does not match the hosts.
    """
    if state.intensity.shape != (hosts.n,):
        raise InvalidParameter("must have one entry per host", "state.intensity")
    new = _establish(hosts, state, params, rng)
    live = ~hosts.removed
    i = state.intensity.copy()
    growing = live & (i > 0.0)
    rate = np.full(int(growing.sum()), params.growth_rate_per_day)
    if params.growth_sd_per_day > 0.0:  # no draw otherwise: deterministic runs keep their stream
        rate += params.growth_sd_per_day * rng.standard_normal(rate.size)
    growth = np.exp(rate * (1.0 - hosts.protection[growing]))
    ig = i[growing]
    i[growing] = np.clip(ig * growth / (1.0 - ig + ig * growth), 0.0, 1.0)
    exposed = state.exposed_days.copy()
    waiting = live & (exposed >= 0)
    exposed[waiting] += 1
    ripe = waiting & (exposed >= params.latency_days)
    i[ripe] = params.initial_intensity
    exposed[ripe] = -1
    if params.latency_days == 0:
        i[new] = params.initial_intensity
    else:
        exposed[new] = 0
    return SpreadState(i, exposed, state.day + 1)


def check_protection_by_day(
    protection_by_day: npt.ArrayLike | None, days: int, n: int
) -> FloatArray | None:
    """``protection_by_day`` as a float array of shape ``(days + 1, n)`` in [0, 1].

    Returns None when it is None.

    Raises
    ------
    InvalidParameter
        (field ``protection_by_day``) on a wrong shape or a value outside [0, 1].
    """
    if protection_by_day is None:
        return None
    arr = np.asarray(protection_by_day, dtype=np.float64)
    if arr.shape != (days + 1, n):
        raise InvalidParameter(
            f"must have shape (days + 1, n) = ({days + 1}, {n}), got {arr.shape}",
            "protection_by_day",
        )
    if not np.all(np.isfinite(arr) & (arr >= 0.0) & (arr <= 1.0)):
        raise InvalidParameter("must hold finite values within [0, 1]", "protection_by_day")
    return arr


def _with_protection(hosts: Hosts, protection: FloatArray) -> Hosts:
    """``hosts`` with another protection, sharing the (protection-free) cached layout."""
    out = replace(hosts, protection=protection)
    out.__dict__["layout"] = hosts.layout
    return out


def run(
    hosts: Hosts,
    initial: SpreadState,
    params: SpreadParams,
    days: int,
    seed: int | np.random.SeedSequence,
    *,
    protection_by_day: npt.ArrayLike | None = None,
) -> FloatArray:
    """Run the model for ``days`` days from ``initial``.

    Parameters
    ----------
    hosts : Hosts
    initial : SpreadState
    params : SpreadParams
    days : int
        Days to run (>= 0).
    seed : int or numpy.random.SeedSequence
    protection_by_day : array_like of float, shape (days + 1, n), optional
        Day-dependent protection in [0, 1]: the step from day ``d`` to ``d + 1`` uses
        row ``d`` as the hosts' protection (the last row is unused). When None,
        ``hosts.protection`` applies every day. Protection does not change the number
        of random draws, so runs with the same seed agree until the schedules differ.

    Returns
    -------
    numpy.ndarray of float, shape (days + 1, n)
        Intensity of every host on each day, row 0 being ``initial``. The same
        ``seed`` gives the same result.

    Raises
    ------
    InvalidParameter
        If ``days`` is negative, the state does not match the hosts or
        ``protection_by_day`` is malformed.
    """
    if days < 0:
        raise InvalidParameter("must be >= 0", "days")
    schedule = check_protection_by_day(protection_by_day, days, hosts.n)
    rng = np.random.default_rng(seed)
    out = np.empty((days + 1, hosts.n), dtype=np.float64)
    state = initial
    out[0] = state.intensity
    for d in range(days):
        day_hosts = hosts if schedule is None else _with_protection(hosts, schedule[d])
        state = step(day_hosts, state, params, rng)
        out[d + 1] = state.intensity
    return out
