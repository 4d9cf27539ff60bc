"""Tests of the grid-cell spread model against its kernels, its laws and its per-spore twin."""

from __future__ import annotations

import math
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from geo.errors import InvalidParameter
from geo.forecast.grid_ensemble import run_grid_ensemble
from geo.forecast.grid_model import (
    GridParams,
    GridSimulation,
    HostGrid,
    draw_spore_counts,
    kernel_pdf,
    resolve_establishment,
    run_grid,
    sample_displacements,
)
from geo.forecast.grid_model_reference import run_grid_reference


def centre_grid(side: int, hosts: int, infected: int) -> HostGrid:
    total = np.full((side, side), hosts, dtype=np.int32)
    start = np.zeros_like(total)
    start[side // 2, side // 2] = infected
    return HostGrid(total, start, cell_size_m=5.0)


def small_grid(seed: int = 0) -> HostGrid:
    """12 x 12 cells of 0 to 8 hosts, a few of them infected."""
    rng = np.random.default_rng(seed)
    total = rng.integers(0, 9, (12, 12)).astype(np.int32)
    infected = np.zeros_like(total)
    for r, c in ((3, 3), (8, 6), (5, 10)):
        total[r, c] = 8
        infected[r, c] = 2
    return HostGrid(total, infected, cell_size_m=10.0)


@pytest.mark.parametrize("kernel", ["cauchy", "exponential"])
@pytest.mark.parametrize("scale_m", [0.5, 20.0, 700.0])
def test_kernels_integrate_to_one(kernel: Any, scale_m: float) -> None:
    value, _ = integrate.quad(lambda d: float(kernel_pdf(kernel, d, scale_m)), 0.0, math.inf)
    assert value == pytest.approx(1.0, rel=1e-7)
    assert float(kernel_pdf(kernel, -1.0, scale_m)) == 0.0


@pytest.mark.parametrize(
    ("params", "cdf"),
    [
        (GridParams(short_kernel="cauchy", short_scale_m=15.0), stats.halfcauchy(scale=3.0).cdf),
        (GridParams(short_kernel="exponential", short_scale_m=10.0), stats.expon(scale=2.0).cdf),
        (
            GridParams(
                short_kernel="exponential",
                short_scale_m=5.0,
                long_kernel="cauchy",
                long_scale_m=100.0,
                long_fraction=0.2,
            ),
            lambda d: 0.8 * stats.expon(scale=1.0).cdf(d) + 0.2 * stats.halfcauchy(scale=20).cdf(d),
        ),
    ],
)
def test_sampled_distances_follow_the_kernels(params: GridParams, cdf: Any) -> None:
    east, north = sample_displacements(params, 5.0, 40_000, np.random.default_rng(3))
    dist = np.hypot(east.astype(np.float64), north.astype(np.float64))
    assert stats.kstest(dist, cdf).pvalue > 1e-3


def test_bearings_follow_the_wind() -> None:
    params = GridParams(wind_dir_deg=90.0, wind_kappa=4.0, short_kernel="exponential")
    east, north = sample_displacements(params, 1.0, 40_000, np.random.default_rng(4))
    bearing = np.degrees(np.arctan2(east, north))
    fitted_kappa, loc, _ = stats.vonmises.fit(np.radians(bearing), fscale=1)
    assert math.degrees(loc) == pytest.approx(90.0, abs=2.0)
    assert fitted_kappa == pytest.approx(4.0, rel=0.1)


def test_rate_zero_spreads_nothing() -> None:
    grid = small_grid()
    out = run_grid(grid, GridParams(reproductive_rate=0.0), 10, seed=1, keep_daily=True)
    assert out.infected_daily is not None
    assert np.all(out.infected_daily == grid.infected)
    assert np.all(out.spores == 0)
    assert np.array_equal(out.susceptible, grid.total_hosts - grid.infected)
    healthy = HostGrid(grid.total_hosts, np.zeros_like(grid.infected))
    assert np.all(run_grid(healthy, GridParams(reproductive_rate=5.0), 5, 1).infected_total == 0)


def _sector_counts(new: np.ndarray) -> np.ndarray:
    """New infections in the N, E, S, W quarter-planes around the centre (diagonals out)."""
    side = new.shape[0]
    dy, dx = np.mgrid[0:side, 0:side] - side // 2
    north, east = -dy, dx
    sectors = [
        (north > np.abs(east)),
        (east > np.abs(north)),
        (-north > np.abs(east)),
        (-east > np.abs(north)),
    ]
    return np.array([new[s].sum() for s in sectors])


def test_single_infected_cell_without_wind_spreads_isotropically() -> None:
    grid = centre_grid(61, hosts=10_000, infected=200)
    params = GridParams(reproductive_rate=20.0, short_kernel="cauchy", short_scale_m=15.0)
    out = run_grid(grid, params, 1, seed=5)
    new = out.infected - grid.infected
    counts = _sector_counts(new)
    assert counts.sum() > 2000
    assert stats.chisquare(counts).pvalue > 1e-3
    # Rayleigh-style check: the mean displacement of new infections is about zero.
    dy, dx = np.mgrid[0:61, 0:61] - 30
    weights = new.ravel().astype(np.float64)
    weights[30 * 61 + 30] = 0.0  # the source cell has no direction
    angle = np.arctan2(-dy.ravel(), dx.ravel())[weights > 0]
    w = weights[weights > 0]
    resultant = np.hypot((w * np.cos(angle)).sum(), (w * np.sin(angle)).sum()) / w.sum()
    rayleigh_z = w.sum() * resultant**2
    assert math.exp(-rayleigh_z) > 1e-3


def test_wind_pushes_spread_downwind() -> None:
    grid = centre_grid(61, hosts=10_000, infected=200)
    params = GridParams(
        reproductive_rate=20.0, short_scale_m=15.0, wind_dir_deg=90.0, wind_kappa=3.0
    )
    out = run_grid(grid, params, 1, seed=6)
    north, east, south, west = _sector_counts(out.infected - grid.infected)
    assert east > 5 * max(north, south, west)


def test_same_seed_same_run_and_other_seed_another() -> None:
    grid = small_grid()
    params = GridParams(reproductive_rate=1.0, short_scale_m=15.0, latency_days=2)
    a = run_grid(grid, params, 12, seed=9, keep_daily=True)
    b = run_grid(grid, params, 12, seed=9, keep_daily=True)
    c = run_grid(grid, params, 12, seed=10, keep_daily=True)
    assert a.infected_daily is not None and b.infected_daily is not None
    assert np.array_equal(a.infected_daily, b.infected_daily)
    assert np.array_equal(a.spores, b.spores)
    assert c.infected_daily is not None
    assert not np.array_equal(a.infected_daily, c.infected_daily)


@pytest.mark.parametrize("latency_days", [0, 3])
def test_infections_never_exceed_hosts(latency_days: int) -> None:
    grid = small_grid(2)
    params = GridParams(
        reproductive_rate=6.0,
        short_scale_m=12.0,
        long_fraction=0.3,
        long_scale_m=60.0,
        latency_days=latency_days,
    )
    sim = GridSimulation(grid, params, np.random.default_rng(7))
    total = grid.total_hosts.ravel()
    for _ in range(25):
        sim.step()
        exposed = sim.exposed_cells()
        assert np.all(sim.susceptible >= 0) and np.all(exposed >= 0)
        assert np.all(sim.infected <= total)
        assert np.array_equal(sim.susceptible + exposed + sim.infected, total)
        assert sim.infected_total == int(sim.infected.sum())
        assert sim.exposed_total == int(exposed.sum())
    assert sim.infected_total == int(total.sum())  # this rate fills the grid


def test_latency_delays_infection() -> None:
    grid = small_grid()
    params = GridParams(reproductive_rate=3.0, short_scale_m=15.0, latency_days=3)
    out = run_grid(grid, params, 6, seed=11)
    start = int(grid.infected.sum())
    assert list(out.infected_total[:4]) == [start] * 4
    assert out.exposed_total[1] > 0 and out.infected_total[4] > start


def _sequential(k: int, s: int, n: int, env: float, draw: random.Random) -> int:
    """PoPS' rule, one spore at a time."""
    new = 0
    for _ in range(k):
        if draw.random() < env and draw.random() * n < s - new:
            new += 1
    return new


@pytest.mark.parametrize(
    ("k", "s", "n", "env"), [(30, 12, 20, 0.7), (6, 3, 3, 1.0), (200, 9, 40, 0.5)]
)
def test_establishment_resolution_matches_per_spore_rule(
    k: int, s: int, n: int, env: float
) -> None:
    trials = 20_000
    ones = np.ones(trials, dtype=np.int64)
    fast = resolve_establishment(k * ones, s * ones, n * ones, env, np.random.default_rng(12))
    draw = random.Random(13)
    slow = np.array([_sequential(k, s, n, env, draw) for _ in range(trials)])
    assert fast.max() <= s
    values = np.union1d(fast, slow)
    table = np.array([[np.sum(fast == v) for v in values], [np.sum(slow == v) for v in values]])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > 1e-3


@pytest.mark.parametrize("huge_pool", [False, True])
def test_distinct_picks_count_collisions(huge_pool: bool) -> None:
    # 3,000 spores on 1,000 susceptible hosts of 1,000: E[new] = S (1 - (1 - 1/S)^k).
    # A second cell with a huge pool switches the count from marks to a sort.
    landed = np.array([3000, 2])
    pool = np.array([1000, 10**9 if huge_pool else 10])
    rng = np.random.default_rng(14)
    new = np.array([resolve_establishment(landed, pool, pool, 1.0, rng) for _ in range(3000)])
    expected = 1000 * (1 - (1 - 1 / 1000) ** 3000)
    assert abs(new[:, 0].mean() - expected) < 4 * new[:, 0].std() / math.sqrt(3000)
    assert np.all(new[:, 1] <= 2) and new[:, 0].max() <= 1000


def test_sparse_days_without_the_host_list_keep_the_law(monkeypatch: pytest.MonkeyPatch) -> None:
    import geo.forecast.grid_model as grid_model

    params = MATCH_CASES[1]
    grid = small_grid(4)
    seeds = 300
    listed = np.array([run_grid(grid, params, 7, seed=s).infected_total[-1] for s in range(seeds)])
    monkeypatch.setattr(grid_model, "HOST_LIST_MAX", 8)
    sim = GridSimulation(grid, params, np.random.default_rng(0))
    for _ in range(7):
        sim.step()
    assert sim._host_cells is None  # the list outgrew its cap
    unlisted = np.array(
        [run_grid(grid, params, 7, seed=s).infected_total[-1] for s in range(seeds)]
    )
    se = math.sqrt((listed.var(ddof=1) + unlisted.var(ddof=1)) / seeds)
    assert abs(listed.mean() - unlisted.mean()) < 4 * se
    assert not np.array_equal(listed, unlisted)  # the other path was taken


MATCH_CASES = [
    GridParams(  # dense: a Poisson draw per infected cell; several spores per cell
        reproductive_rate=0.9,
        short_kernel="cauchy",
        short_scale_m=14.0,
        long_fraction=0.1,
        long_kernel="exponential",
        long_scale_m=50.0,
        wind_dir_deg=45.0,
        wind_kappa=1.0,
        environment=0.8,
        latency_days=1,
    ),
    GridParams(  # sparse: spores as a Poisson process, mostly one spore per cell
        reproductive_rate=0.15,
        short_kernel="exponential",
        short_scale_m=25.0,
    ),
]


@pytest.mark.parametrize("params", MATCH_CASES)
def test_vectorised_model_matches_the_per_spore_loop(params: GridParams) -> None:
    grid = small_grid(4)
    days, seeds = 7, 300
    fast = np.array([run_grid(grid, params, days, seed=s).infected_total for s in range(seeds)])
    slow = np.array(
        [
            run_grid_reference(grid, params, days, seed=10_000 + s).infected_total
            for s in range(seeds)
        ]
    )
    for day in (3, 5, 7):
        a, b = fast[:, day], slow[:, day]
        se = math.sqrt(a.var(ddof=1) / seeds + b.var(ddof=1) / seeds)
        assert abs(a.mean() - b.mean()) < 4 * se, (day, a.mean(), b.mean(), se)
        assert 0.7 < a.var(ddof=1) / b.var(ddof=1) < 1.4
    assert fast[:, -1].mean() > 1.3 * fast[:, 0].mean()  # the comparison is not vacuous


@pytest.mark.parametrize("scale", [0.05, 3.0])
def test_spore_counts_are_independent_poisson(scale: float) -> None:
    rng = np.random.default_rng(8)
    rates = scale * np.linspace(0.0, 1.0, 40)
    draws = np.array([draw_spore_counts(rates, rng) for _ in range(20_000)])
    assert np.all(draws[:, 0] == 0)
    mean, var = draws.mean(axis=0), draws.var(axis=0, ddof=1)
    se = np.sqrt(np.maximum(rates, 1e-12) / len(draws))
    assert np.all(np.abs(mean - rates) < 4.5 * se + 1e-12)
    var_se = np.sqrt((rates + 2 * rates**2) / len(draws))  # of a Poisson sample variance
    assert np.all(np.abs(var - rates) < 4.5 * var_se + 1e-12)
    corr = np.corrcoef(draws[:, 20], draws[:, 21])[0, 1]
    assert abs(corr) < 0.04
    last = draws[:, -1]
    observed = np.bincount(last, minlength=12)[:12]
    expected = stats.poisson(rates[-1]).pmf(np.arange(12)) * len(draws)
    keep = expected > 5
    f_obs = observed[keep]
    f_exp = expected[keep] * f_obs.sum() / expected[keep].sum()
    assert stats.chisquare(f_obs, f_exp).pvalue > 1e-3


def test_ensemble_is_reproducible_and_independent_of_workers() -> None:
    grid = small_grid()
    params = GridParams(reproductive_rate=1.0, short_scale_m=15.0)
    seen: list[tuple[int, int]] = []
    one = run_grid_ensemble(
        grid,
        params,
        8,
        runs=6,
        seed=21,
        workers=1,
        progress=lambda done, total: seen.append((done, total)),
    )
    seen_two: list[tuple[int, int]] = []
    two = run_grid_ensemble(
        grid, params, 8, runs=6, seed=21, workers=2, progress=lambda *a: seen_two.append(a)
    )
    with ThreadPoolExecutor(2) as pool:
        threads = run_grid_ensemble(grid, params, 8, runs=6, seed=21, workers=3, executor=pool)
    assert np.array_equal(one.infected_total, threads.infected_total)
    assert [done for done, _ in seen_two] == sorted(done for done, _ in seen_two)
    assert seen_two[-1] == (6, 6) and len(seen_two) > 1
    assert np.array_equal(one.infected_total, two.infected_total)
    assert np.array_equal(one.probability, two.probability)
    assert np.array_equal(one.mean_infected, two.mean_infected)
    assert seen[-1] == (6, 6)
    # Run r is run_grid with the r-th spawned seed.
    seqs = np.random.SeedSequence(21).spawn(6)
    direct = [run_grid(grid, params, 8, seed=q, keep_daily=True) for q in seqs]
    assert np.array_equal(one.infected_total, np.array([d.infected_total for d in direct]))
    daily = np.array([d.infected_daily for d in direct])
    np.testing.assert_allclose(one.probability, (daily > 0).mean(axis=0))
    np.testing.assert_allclose(one.mean_infected, daily[:, -1].mean(axis=0))
    third = run_grid_ensemble(grid, params, 8, runs=6, seed=21, workers=1, threshold=0.3)
    expected = (daily > 0.3 * grid.total_hosts).mean(axis=0)
    np.testing.assert_allclose(third.probability, expected)
    assert np.any(third.probability != one.probability)
    assert one.probability.shape == (9, 12, 12)
    assert np.all((one.probability >= 0) & (one.probability <= 1))
    assert np.array_equal(one.probability[0], (grid.infected > 0).astype(np.float32))
    assert np.all(one.infected_total_p05 <= one.infected_total_mean)
    assert np.all(one.infected_total_mean <= one.infected_total_p95)


def test_uniform_grid_seeds_the_asked_fraction() -> None:
    grid = HostGrid.uniform(40, 50, 100, 0.05, np.random.default_rng(0))
    assert int(grid.infected.sum()) == 100 and grid.infected.max() == 1
    assert np.all(grid.total_hosts == 100)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("reproductive_rate", {"reproductive_rate": -0.1}),
        ("reproductive_rate", {"reproductive_rate": math.nan}),
        ("short_kernel", {"short_kernel": "gaussian"}),
        ("long_kernel", {"long_kernel": "levy"}),
        ("short_scale_m", {"short_scale_m": 0.0}),
        ("long_scale_m", {"long_scale_m": -3.0}),
        ("short_scale_m", {"short_scale_m": 1e300}),
        ("long_fraction", {"long_fraction": 1.5}),
        ("wind_kappa", {"wind_kappa": -1.0}),
        ("wind_dir_deg", {"wind_dir_deg": 720.0}),
        ("environment", {"environment": 1.2}),
        ("latency_days", {"latency_days": 1.5}),
        ("latency_days", {"latency_days": -1}),
    ],
)
def test_bad_parameters_name_the_field(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter) as err:
        replace(GridParams(), **kwargs)
    assert err.value.field == field


def test_bad_grids_and_arguments_name_the_field() -> None:
    total = np.full((4, 4), 3, dtype=np.int32)
    cases: list[tuple[str, Any]] = [
        ("infected", lambda: HostGrid(total, total + 1)),
        ("infected", lambda: HostGrid(total, np.zeros((4, 5), np.int32))),
        ("total_hosts", lambda: HostGrid(total - 4, np.zeros_like(total))),
        ("total_hosts", lambda: HostGrid(total.astype(float), np.zeros_like(total))),
        ("cell_size_m", lambda: HostGrid(total, np.zeros_like(total), cell_size_m=0.0)),
        ("cell_size_m", lambda: HostGrid(total, np.zeros_like(total), cell_size_m=1e-9)),
        ("infected_cell_fraction", lambda: HostGrid.uniform(3, 3, 5, 2.0, np.random.default_rng())),
        ("days", lambda: run_grid(HostGrid(total, total), GridParams(), -1, seed=0)),
        ("runs", lambda: run_grid_ensemble(HostGrid(total, total), GridParams(), 1, 0, seed=0)),
        (
            "threshold",
            lambda: run_grid_ensemble(HostGrid(total, total), GridParams(), 1, 2, 0, threshold=1.0),
        ),
        (
            "workers",
            lambda: run_grid_ensemble(HostGrid(total, total), GridParams(), 1, 2, 0, workers=0),
        ),
        ("size", lambda: sample_displacements(GridParams(), 1.0, -5, np.random.default_rng())),
    ]
    for field, call in cases:
        with pytest.raises(InvalidParameter) as err:
            call()
        assert err.value.field == field
