"""The spread model on the ground grid: cells with a host density (PoPS' representation).

Each cell ``c`` of an ``H x W`` raster holds integer host counts: ``total[c]``,
``susceptible[c]``, ``exposed[c]`` (by day of establishment, when ``latency_days > 0``)
and ``infected[c]``; ``susceptible + exposed + infected == total`` always. Row 0 is
the northern edge, column 0 the western edge; cells are ``cell_size_m`` square.

One day (:meth:`GridSimulation.step`), from the state at the start of the day:

1. Every infected host releases ``Poisson(reproductive_rate * environment)`` spores;
   summed over a cell that is ``Poisson(reproductive_rate * environment * I[c])``.
2. Each spore starts at its cell's centre and travels a distance ``d`` (metres) from
   the short kernel, or with probability ``long_fraction`` from the long kernel
   (``"cauchy"``: half-Cauchy, ``F(d) = (2/π) arctan(d / scale)``; ``"exponential"``:
   ``F(d) = 1 - exp(-d / scale)``, the meanings of :mod:`geo.forecast.model`), on a
   bearing ``θ ~ vonMises(wind_dir_deg, wind_kappa)`` clockwise from north (uniform
   when ``wind_kappa == 0``): east ``d sin θ``, north ``d cos θ``. It lands in the cell
   holding that point; a spore landing outside the grid is lost.
3. A spore landing in cell ``c`` establishes with probability
   ``environment * S_c / N_c``, where ``S_c`` is the number of hosts of the cell still
   susceptible *at that moment* (PoPS' sequential rule: the spore picks one of the
   ``N_c`` hosts at random and infects it if that host is still susceptible). New
   infections become infected at once (``latency_days == 0``) or exposed, and then
   infected ``latency_days`` steps later (as in :mod:`geo.forecast.model`).

Vectorisation
-------------
No Python loop runs over spores, hosts or cells. Spores are released in one of two
exact ways (by Poisson splitting, both give independent ``Poisson(rate * I[c])``
counts): on *sparse* days (fewer expected spores than half the infected cells) the
day's ``Poisson(rate * I_total)`` spores each take their source from a uniformly drawn
entry of a list of the infected hosts' cells, at a cost per spore; on *dense* days one
Poisson count per infected cell (see :func:`draw_spore_counts`), expanded with
``np.repeat`` in chunks of at most ``CHUNK_SPORES`` spores. Each chunk draws its
distances and bearings in bulk (float32; the distance and the bearing come from two
21-bit fields of one 64-bit ``random_raw`` word, a third field selects the long
kernel) and bins the landing cells (``np.unique`` on sparse days, ``np.bincount``
over a buffer of up to ``BIN_SPORES`` spores otherwise). Establishment is then
resolved **per landing cell**, exactly in distribution (see
:func:`resolve_establishment`): of the ``k`` spores landing in a cell,
``Binomial(k, environment)`` pass the environment, of those ``m ~ Binomial(., S/N)``
pick a host that was susceptible at the start of the day, and the new infections are
the number of *distinct* such hosts picked (``m`` uniform picks among ``S``), drawn
as explicit picks for the cells with ``m >= 2``. This is the distribution of PoPS'
sequential per-spore rule, and never exceeds ``S``. State is integer (int32 counts)
and only the cells that spores reach are updated. Landing points are float32, so a
spore within about ``1e-7`` of the grid's width of a cell edge may fall on either side.

Every random draw comes from one :class:`numpy.random.Generator`, so a run is
reproducible for a seed. Ensembles of runs over worker processes are in
:mod:`geo.forecast.grid_ensemble`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.checks import check_finite_in, check_positive

__all__ = [
    "BIN_SPORES",
    "CHUNK_SPORES",
    "HOST_LIST_MAX",
    "MARK_SLOTS_MAX",
    "GridParams",
    "GridRun",
    "GridSimulation",
    "HostGrid",
    "Kernel",
    "draw_spore_counts",
    "kernel_pdf",
    "resolve_establishment",
    "run_grid",
    "sample_displacements",
]

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

CHUNK_SPORES = 1 << 15
"""Spores handled per vectorised chunk (keeps the working arrays in cache)."""
BIN_SPORES = 1 << 22
"""Landing cells buffered before one ``np.bincount`` over the grid."""
HOST_LIST_MAX = 1 << 24
"""Longest list of infected hosts kept for sparse days (int32 entries)."""
MARK_SLOTS_MAX = 1 << 26
"""Largest scratch array (bytes) for counting distinct picks before sorting instead."""

Kernel = Literal["cauchy", "exponential"]
"""Distance kernels, as :data:`geo.forecast.model.Kernel` (not imported from there: the
ensemble's worker processes then start without scipy)."""
_KERNELS = ("cauchy", "exponential")
_MASK21 = np.uint64((1 << 21) - 1)
_U21 = np.float32(2.0**-21)
# The largest float32 below π/2: tan() of it stays positive (float32(π/2) > π/2).
_HALF_PI_BELOW = np.nextafter(np.float32(math.pi / 2), np.float32(0.0))


@dataclass(frozen=True)
class GridParams:
    """Parameters of the grid model; units are in the names, meanings as in
    :class:`geo.forecast.model.SpreadParams`.

    Attributes
    ----------
    reproductive_rate : float
        Spores released per infected host per day (>= 0).
    short_kernel, long_kernel : {"cauchy", "exponential"}
    short_scale_m, long_scale_m : float
        Kernel scales, metres, in (0, 1e7].
    long_fraction : float
        Probability a spore uses the long kernel, in [0, 1].
    wind_dir_deg : float
        Direction spores travel towards, degrees clockwise from north.
    wind_kappa : float
        Von Mises concentration (>= 0; 0 = no wind, isotropic).
    environment : float
        Weather coefficient in [0, 1] (1 = neutral): scales spore release and
        establishment (PoPS' weather coefficients lie in [0, 1]).
    latency_days : int
        Steps from establishment to infection (0 = SI).

    Raises
    ------
    InvalidParameter
        Naming the field, on any out-of-range value.
    """

    reproductive_rate: float = 0.1
    short_kernel: Kernel = "cauchy"
    short_scale_m: float = 20.0
    long_fraction: float = 0.0
    long_scale_m: float = 500.0
    long_kernel: Kernel = "exponential"
    wind_dir_deg: float = 0.0
    wind_kappa: float = 0.0
    environment: float = 1.0
    latency_days: int = 0

    def __post_init__(self) -> None:
        for name in ("short_kernel", "long_kernel"):
            if getattr(self, name) not in _KERNELS:
                raise InvalidParameter(f"must be one of {', '.join(_KERNELS)}", name)
        for name in ("short_scale_m", "long_scale_m"):
            check_positive(getattr(self, name), name)
            check_finite_in(getattr(self, name), name, 0.0, 1e7)
        check_finite_in(self.reproductive_rate, "reproductive_rate", 0.0, 1e6)
        check_finite_in(self.wind_kappa, "wind_kappa", 0.0, 1e6)
        check_finite_in(self.long_fraction, "long_fraction", 0.0, 1.0)
        check_finite_in(self.environment, "environment", 0.0, 1.0)
        check_finite_in(self.wind_dir_deg, "wind_dir_deg", -360.0, 360.0)
        if isinstance(self.latency_days, bool) or not isinstance(self.latency_days, int):
            raise InvalidParameter("must be an integer number of days", "latency_days")
        check_finite_in(self.latency_days, "latency_days", 0, 3650)


@dataclass(frozen=True, eq=False)
class HostGrid:
    """Hosts on the ground grid: integer host counts per cell and the starting infection.

    Attributes
    ----------
    total_hosts : numpy.ndarray of int, shape (H, W)
        Hosts per cell (>= 0); stored as int32.
    infected : numpy.ndarray of int, shape (H, W)
        Infected hosts per cell at day 0, within ``[0, total_hosts]``; the others are
        susceptible.
    cell_size_m : float
        Side of a square cell, metres, in [0.001, 1e6].

    Raises
    ------
    InvalidParameter
        (``total_hosts``, ``infected``, ``cell_size_m``) on bad shapes or values.
    """

    total_hosts: Int32Array
    infected: Int32Array
    cell_size_m: float = 1.0

    def __post_init__(self) -> None:
        check_finite_in(self.cell_size_m, "cell_size_m", 1e-3, 1e6)
        for name in ("total_hosts", "infected"):
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 2 or 0 in arr.shape or not np.issubdtype(arr.dtype, np.integer):
                raise InvalidParameter("must be a non-empty 2-D integer array", name)
            if arr.min() < 0 or arr.max() > np.iinfo(np.int32).max:
                raise InvalidParameter("must hold counts within [0, 2**31 - 1]", name)
            object.__setattr__(self, name, np.ascontiguousarray(arr, dtype=np.int32))
        if self.infected.shape != self.total_hosts.shape:
            raise InvalidParameter("must have the shape of total_hosts", "infected")
        if np.any(self.infected > self.total_hosts):
            raise InvalidParameter("must not exceed total_hosts in any cell", "infected")

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (int(self.total_hosts.shape[0]), int(self.total_hosts.shape[1]))

    @classmethod
    def uniform(
        cls,
        rows: int,
        cols: int,
        hosts_per_cell: int,
        infected_cell_fraction: float,
        rng: np.random.Generator,
        cell_size_m: float = 1.0,
    ) -> HostGrid:
        """A grid of ``hosts_per_cell`` hosts everywhere, with one infected host in a
        random ``infected_cell_fraction`` of the cells (rounded to a whole number).

        Raises
        ------
        InvalidParameter
            (``rows``, ``cols``, ``hosts_per_cell``, ``infected_cell_fraction``).
        """
        for name, value in (("rows", rows), ("cols", cols), ("hosts_per_cell", hosts_per_cell)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameter("must be an integer >= 1", name)
        check_finite_in(infected_cell_fraction, "infected_cell_fraction", 0.0, 1.0)
        cells = rows * cols
        infected = np.zeros(cells, dtype=np.int32)
        chosen = rng.choice(cells, size=round(infected_cell_fraction * cells), replace=False)
        infected[chosen] = 1
        total = np.full((rows, cols), hosts_per_cell, dtype=np.int32)
        return cls(total, infected.reshape(rows, cols), cell_size_m)


def kernel_pdf(kernel: Kernel, distance_m: npt.ArrayLike, scale_m: float) -> FloatArray:
    """Density (per metre) of the dispersal distance of a kernel, at ``distance_m >= 0``.

    ``"cauchy"``: ``2 / (π s (1 + (d/s)^2))``; ``"exponential"``: ``exp(-d/s) / s``.
    Each integrates to one over ``[0, ∞)``.

    Raises
    ------
    InvalidParameter
        (``kernel``, ``scale_m``).
    """
    if kernel not in _KERNELS:
        raise InvalidParameter(f"must be one of {', '.join(_KERNELS)}", "kernel")
    check_positive(scale_m, "scale_m")
    d = np.asarray(distance_m, dtype=np.float64)
    if kernel == "cauchy":
        out = 2.0 / (math.pi * scale_m * (1.0 + (d / scale_m) ** 2))
    else:
        out = np.exp(-d / scale_m) / scale_m
    return np.asarray(np.where(d >= 0.0, out, 0.0), dtype=np.float64)


def _distances(kernel: str, scale: float, u: Float32Array) -> Float32Array:
    """Inverse-transform distances (same units as ``scale``) from uniforms in [0, 1)."""
    if kernel == "cauchy":
        angle = np.multiply(u, np.float32(math.pi / 2))
        np.minimum(angle, _HALF_PI_BELOW, out=angle)
        out = np.tan(angle)
    else:
        out = np.negative(np.log1p(np.negative(u)))
    out *= np.float32(scale)
    return out


def _displace(
    params: GridParams, cell_size_m: float, n: int, rng: np.random.Generator
) -> tuple[Float32Array, Float32Array]:
    """``n`` spore displacements (east, north) in cells, float32."""
    raw = rng.bit_generator.random_raw(n)
    assert isinstance(raw, np.ndarray)
    u_dist = (raw >> np.uint64(43)).astype(np.float32)
    u_dist *= _U21
    dist = _distances(params.short_kernel, params.short_scale_m / cell_size_m, u_dist)
    if params.long_fraction > 0.0:
        u_long = (raw & _MASK21).astype(np.float32)
        u_long *= _U21
        far = u_long < np.float32(params.long_fraction)
        long_d = _distances(params.long_kernel, params.long_scale_m / cell_size_m, u_dist)
        np.copyto(dist, long_d, where=far)
    if params.wind_kappa > 0.0:
        mu = math.radians(params.wind_dir_deg)
        bearing = rng.vonmises(mu, params.wind_kappa, n).astype(np.float32)
    else:
        bearing = ((raw >> np.uint64(22)) & _MASK21).astype(np.float32)
        bearing *= np.float32(2.0 * math.pi) * _U21
    east = np.sin(bearing)
    east *= dist
    north = np.cos(bearing)
    north *= dist
    return east, north


def sample_displacements(
    params: GridParams, cell_size_m: float, size: int, rng: np.random.Generator
) -> tuple[Float32Array, Float32Array]:
    """Spore displacements (east, north), in cells, as the grid model draws them.

    The distance comes from the short or (with probability ``long_fraction``) the
    long kernel with 21-bit float32 uniforms (so the Cauchy tail is cut at about
    ``1.3e6`` scales and the exponential one at ``21 ln 2 = 14.6`` scales, a mass of
    ``2**-21`` each), the bearing from the wind's von Mises or uniformly.

    Raises
    ------
    InvalidParameter
        (``cell_size_m``, ``size``).
    """
    check_positive(cell_size_m, "cell_size_m")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidParameter("must be an integer >= 0", "size")
    return _displace(params, cell_size_m, size, rng)


def resolve_establishment(
    landed: npt.ArrayLike,
    susceptible: npt.ArrayLike,
    total: npt.ArrayLike,
    environment: float,
    rng: np.random.Generator,
) -> IntArray:
    """New infections in each cell from the spores that landed there (exact in law).

    For a cell with ``k = landed`` spores, ``S = susceptible`` and ``N = total`` hosts,
    PoPS' sequential rule lets each spore pass the environment with probability
    ``environment``, pick one of the ``N`` hosts uniformly and infect it if it is still
    susceptible. The number infected is drawn here as: ``k' ~ Binomial(k, environment)``
    spores pass, ``m ~ Binomial(k', S/N)`` of them pick a host susceptible at the start
    of the day (for ``k = 1``, one Bernoulli draw of ``environment * S/N``), and the
    result is the number of distinct hosts among ``m`` uniform picks of ``S`` (``m``
    itself when ``m <= 1``; explicit picks otherwise, counted with a scratch array of
    ``S`` slots per cell or a sort). The result never exceeds ``S``.

    Parameters
    ----------
    landed, susceptible, total : numpy.ndarray of int, shape (n,)
        Per cell (aligned); ``total >= susceptible`` and ``total > 0`` where
        ``landed > 0``.
    environment : float
        In [0, 1].
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    k = np.asarray(landed, dtype=np.int64)
    s = np.asarray(susceptible, dtype=np.int64)
    new = np.zeros(k.shape[0], dtype=np.int64)
    cand = np.flatnonzero((k > 0) & (s > 0))
    if cand.size == 0:
        return new
    kc, sc = k[cand], s[cand]
    pick = sc / np.asarray(total, dtype=np.float64)[cand]
    m = np.empty_like(kc)
    single = kc == 1  # the common case when spores are sparse: one Bernoulli draw
    m[single] = rng.random(int(single.sum())) < environment * pick[single]
    several = ~single
    k_several = kc[several]
    if environment < 1.0:
        k_several = rng.binomial(k_several, environment)
    m[several] = rng.binomial(k_several, pick[several])
    multi = np.flatnonzero(m >= 2)
    if multi.size:
        m[multi] = _distinct_picks(m[multi], sc[multi], rng)
    new[cand] = m
    return new


def _distinct_picks(picks: IntArray, pool: IntArray, rng: np.random.Generator) -> IntArray:
    """Number of distinct items among ``picks[j]`` uniform draws from ``pool[j]`` items.

    Picks are marked in a scratch array of ``sum(pool)`` bytes unless that exceeds both
    ``MARK_SLOTS_MAX`` and 8 bytes a pick; then they are sorted and the distinct keys
    counted (memory in the picks).
    """
    start = np.cumsum(pool) - pool
    owner = np.repeat(np.arange(picks.size), picks)
    slot = (rng.random(owner.size) * pool[owner]).astype(np.int64)
    keys = start[owner] + np.minimum(slot, pool[owner] - 1)
    slots = int(pool.sum())
    if slots <= max(8 * keys.size, MARK_SLOTS_MAX):
        marks = np.zeros(slots, dtype=np.uint8)
        marks[keys] = 1
        return np.asarray(np.add.reduceat(marks, start, dtype=np.int64), dtype=np.int64)
    keys.sort()
    distinct = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    cell = np.searchsorted(start, distinct, side="right") - 1
    return np.bincount(cell, minlength=picks.size).astype(np.int64)


def draw_spore_counts(rates: npt.ArrayLike, rng: np.random.Generator) -> IntArray:
    """Independent ``Poisson(rates[j])`` counts, drawn the cheaper of two exact ways.

    When the rates are small (their sum below half their number) the counts are those of
    a unit-rate Poisson process on ``[0, sum(rates))`` (cumulated exponential gaps)
    falling in the consecutive intervals of lengths ``rates``: independent Poisson
    counts by the splitting property, at the cost of the spores rather than of the
    cells. Otherwise one ``rng.poisson`` per entry.

    Parameters
    ----------
    rates : array_like of float, shape (n,)
        Non-negative Poisson means.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    lam = np.asarray(rates, dtype=np.float64)
    cum = np.cumsum(lam)
    total = float(cum[-1]) if lam.size else 0.0
    if total <= 0.0 or total >= 0.5 * lam.size:
        return np.asarray(rng.poisson(lam), dtype=np.int64)
    n = int(total + 8.0 * math.sqrt(total) + 16.0)
    arrivals = np.cumsum(rng.standard_exponential(n))
    while arrivals[-1] < total:
        arrivals = np.concatenate((arrivals, arrivals[-1] + np.cumsum(rng.standard_exponential(n))))
    arrivals = arrivals[: np.searchsorted(arrivals, total)]
    which = np.searchsorted(cum, arrivals, side="right")
    return np.bincount(which, minlength=lam.size).astype(np.int64)


_Cohort = tuple[IntArray, IntArray]


@functools.lru_cache(maxsize=4)
def _cell_centres(rows: int, cols: int) -> tuple[Float32Array, Float32Array]:
    """Column and row coordinates of each flat cell's centre, in cells (read-only)."""
    flat = np.arange(rows * cols, dtype=np.int64)
    col = (flat % cols).astype(np.float32) + np.float32(0.5)
    row = (flat // cols).astype(np.float32) + np.float32(0.5)
    col.setflags(write=False)
    row.setflags(write=False)
    return col, row


class GridSimulation:
    """The mutable state of one run, advanced a day at a time by :meth:`step`.

    Attributes: flat int32 arrays of one entry per cell, ``total``, ``susceptible``
    and ``infected``; ``infected_total`` and ``exposed_total`` over the grid; ``day``;
    ``changed`` and ``new_sources``, the cells whose infected count rose in the last
    step, and those of them infected for the first time (at day 0: the infected cells).
    Only the cells that spores reach are touched each day; the infected cells are kept
    as an index list (they never heal in this model).
    """

    def __init__(self, grid: HostGrid, params: GridParams, rng: np.random.Generator) -> None:
        rows, cols = grid.shape
        self.rows, self.cols, self.cells = rows, cols, rows * cols
        self.params = params
        self.cell_size_m = float(grid.cell_size_m)
        self.rng = rng
        self.total = grid.total_hosts.ravel().copy()
        self.infected = grid.infected.ravel().copy()
        self.susceptible = self.total - self.infected
        self.infected_total = int(self.infected.sum(dtype=np.int64))
        self.exposed_total = 0
        self.day = 0
        self._sources = np.flatnonzero(self.infected)
        self.changed = self.new_sources = self._sources
        # One entry (its cell) per infected host, kept while spores are sparse and the
        # list short (HOST_LIST_MAX); _n_listed entries of a buffer grown by doubling.
        self._host_cells: Int32Array | None = None
        self._n_listed = 0
        if self.infected_total <= HOST_LIST_MAX:
            listed = np.repeat(self._sources, self.infected[self._sources]).astype(np.int32)
            self._host_cells = np.empty(max(2 * listed.size, 1024), dtype=np.int32)
            self._host_cells[: listed.size] = listed
            self._n_listed = listed.size
        empty = np.zeros(0, dtype=np.int64)
        self._cohorts: list[_Cohort] = [(empty, empty)] * params.latency_days
        self._col_c, self._row_c = _cell_centres(rows, cols)

    def step(self) -> int:
        """Advance one day; returns the number of spores released."""
        p = self.params
        rate = p.reproductive_rate * p.environment
        cells, landed, spores = self._release_and_land(rate)
        sus = self.susceptible[cells]
        new = resolve_establishment(landed, sus, self.total[cells], p.environment, self.rng)
        hit = new > 0
        cells, new = cells[hit], new[hit]
        self.susceptible[cells] = sus[hit] - new
        if p.latency_days == 0:
            self._infect(cells, new)
        else:
            slot = self.day % p.latency_days
            ripe = self._cohorts[slot]
            self._cohorts[slot] = (cells, new)
            self.exposed_total += int(new.sum()) - int(ripe[1].sum())
            self._infect(*ripe)
        self.day += 1
        return spores

    def _release_and_land(self, rate: float) -> tuple[IntArray, IntArray, int]:
        """Cells reached by today's spores, spores landed in each, spores released.

        Sparse days (fewer expected spores than half the infected cells): the day's
        ``Poisson(rate * I)`` spores, each from a uniformly drawn infected host (the
        same law by Poisson splitting), at a cost per spore. Otherwise one Poisson
        count per infected cell.
        """
        expected = rate * self.infected_total
        if self._host_cells is not None and expected < 0.5 * self._sources.size:
            n = int(self.rng.poisson(expected))
            hosts = self.rng.integers(0, self.infected_total, n)
            origins = self._host_cells[: self._n_listed][hosts].astype(np.int64)
            idx = self._landing_cells(origins)
            cells, landed = np.unique(idx[idx < self.cells], return_counts=True)
            return cells, landed.astype(np.int64), n
        self._host_cells = None  # dense from now on (infections never heal)
        src = self._sources
        counts = draw_spore_counts(self.infected[src] * rate, self.rng)
        cells, landed = self._land(src, counts)
        return cells, landed, int(counts.sum())

    def _infect(self, cells: IntArray, n: IntArray) -> None:
        """Add ``n`` infected hosts to each of ``cells`` (unique)."""
        self.changed = self.new_sources = cells
        if cells.size == 0:
            return
        before = self.infected[cells]
        self.infected[cells] = before + n
        self.infected_total += int(n.sum())
        self.new_sources = cells[before == 0]
        self._sources = np.concatenate((self._sources, self.new_sources))
        if self._host_cells is not None:
            self._list_hosts(np.repeat(cells, n).astype(np.int32))

    def _list_hosts(self, listed: Int32Array) -> None:
        """Append newly infected hosts' cells to the host list (or drop a long list)."""
        assert self._host_cells is not None
        end = self._n_listed + listed.size
        if end > HOST_LIST_MAX:
            self._host_cells = None
            return
        if end > self._host_cells.size:
            grown = np.empty(2 * end, dtype=np.int32)
            grown[: self._n_listed] = self._host_cells[: self._n_listed]
            self._host_cells = grown
        self._host_cells[self._n_listed : end] = listed
        self._n_listed = end

    def exposed_cells(self) -> Int32Array:
        """Exposed hosts per cell (all cohorts), flat."""
        out = np.zeros(self.cells, dtype=np.int32)
        for cells, n in self._cohorts:
            out[cells] += n.astype(np.int32)
        return out

    def _land(self, src: IntArray, counts: IntArray) -> tuple[IntArray, IntArray]:
        """Cells reached by spores (sorted) and the spores landed in each."""
        nz = counts > 0
        src, counts = src[nz], counts[nz]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if total < self.cells // 8:
            idx = self._landing_cells(np.repeat(src, counts))
            cells, landed = np.unique(idx[idx < self.cells], return_counts=True)
            return cells, landed.astype(np.int64)
        binned = np.zeros(self.cells + 1, dtype=np.int64)
        ends = np.cumsum(counts)
        cuts = np.searchsorted(ends, np.arange(CHUNK_SPORES, total, CHUNK_SPORES)) + 1
        buffer = np.empty(min(total, BIN_SPORES) + CHUNK_SPORES * 2, dtype=np.int64)
        fill = 0
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, src.size], strict=True):
            if hi > lo:
                idx = self._landing_cells(np.repeat(src[lo:hi], counts[lo:hi]))
                if fill + idx.size > buffer.size:
                    binned += np.bincount(buffer[:fill], minlength=self.cells + 1)
                    fill = 0
                if idx.size > buffer.size:
                    binned += np.bincount(idx, minlength=self.cells + 1)
                    continue
                buffer[fill : fill + idx.size] = idx
                fill += idx.size
        binned += np.bincount(buffer[:fill], minlength=self.cells + 1)
        cells = np.flatnonzero(binned[:-1])
        return cells, binned[cells]

    def _landing_cells(self, origins: IntArray) -> IntArray:
        """Flat landing cell of a spore from each of ``origins`` (``cells`` when outside)."""
        east, north = _displace(self.params, self.cell_size_m, origins.size, self.rng)
        x = self._col_c[origins]
        x += east
        y = self._row_c[origins]
        y -= north
        inside = (x >= 0.0) & (x < self.cols) & (y >= 0.0) & (y < self.rows)
        # Truncation is the floor here: the cells outside are replaced below.
        np.clip(x, 0.0, self.cols, out=x)
        np.clip(y, 0.0, self.rows, out=y)
        idx = y.astype(np.int64)
        idx *= self.cols
        idx += x.astype(np.int64)
        idx[~inside] = self.cells
        return idx


@dataclass(frozen=True, eq=False)
class GridRun:
    """The outcome of one run.

    Attributes
    ----------
    infected_total, exposed_total : numpy.ndarray of int64, shape (days + 1,)
        Hosts infected / exposed over the whole grid on each day (row 0: the start).
    spores : numpy.ndarray of int64, shape (days,)
        Spores released on each day.
    infected, susceptible : numpy.ndarray of int32, shape (H, W)
        Final-day counts per cell.
    infected_daily : numpy.ndarray of int32, shape (days + 1, H, W) or None
        Infected per cell and day, when asked for.
    """

    infected_total: IntArray
    exposed_total: IntArray
    spores: IntArray
    infected: Int32Array
    susceptible: Int32Array
    infected_daily: Int32Array | None


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise InvalidParameter("must be an integer >= 0", "days")


def run_grid(
    grid: HostGrid,
    params: GridParams,
    days: int,
    seed: int | np.random.SeedSequence,
    *,
    keep_daily: bool = False,
) -> GridRun:
    """Run the grid model for ``days`` days; the same seed gives the same run.

    Raises
    ------
    InvalidParameter
        (``days``) when negative.
    """
    _check_days(days)
    sim = GridSimulation(grid, params, np.random.default_rng(seed))
    shape = grid.shape
    infected_total = np.zeros(days + 1, dtype=np.int64)
    exposed_total = np.zeros(days + 1, dtype=np.int64)
    spores = np.zeros(days, dtype=np.int64)
    daily = np.empty((days + 1, *shape), dtype=np.int32) if keep_daily else None
    infected_total[0] = sim.infected_total
    if daily is not None:
        daily[0] = sim.infected.reshape(shape)
    for d in range(days):
        spores[d] = sim.step()
        infected_total[d + 1] = sim.infected_total
        exposed_total[d + 1] = sim.exposed_total
        if daily is not None:
            daily[d + 1] = sim.infected.reshape(shape)
    return GridRun(
        infected_total=infected_total,
        exposed_total=exposed_total,
        spores=spores,
        infected=sim.infected.reshape(shape).copy(),
        susceptible=sim.susceptible.reshape(shape).copy(),
        infected_daily=daily,
    )
