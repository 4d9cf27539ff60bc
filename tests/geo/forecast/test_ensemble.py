"""Tests of spread ensembles started from an uncertain field."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.errors import InvalidParameter
from geo.forecast.ensemble import draw_initial, ensemble
from geo.forecast.model import Hosts, SpreadParams
from tests.geo.conftest import make_tower, offset

UTRECHT = (5.12, 52.09)
FRAME = LocalFrame.for_lonlat([UTRECHT[0]], [UTRECHT[1]])
EAST_M = [-40.0, -20.0, 0.0, 20.0, 40.0]
PARAMS = SpreadParams(
    reproductive_rate=8.0,
    short_kernel="exponential",
    short_scale_m=25.0,
    within_tower_fraction=0.3,
    growth_rate_per_day=0.3,
)


@pytest.fixture
def hosts() -> Hosts:
    towers = [
        make_tower(f"T-{k}", *offset(*UTRECHT, east_m=e), height_m=9.0, tier_count=3)
        for k, e in enumerate(EAST_M)
    ]
    return Hosts.from_towers(towers, FRAME)


def source(hosts: Hosts, host: int = 7, intensity: float = 0.5) -> np.ndarray:
    mean = np.zeros(hosts.n)
    mean[host] = intensity
    return mean


def test_probabilities_bands_and_monotone_growth(hosts: Hosts) -> None:
    res = ensemble(hosts, source(hosts), np.zeros(hosts.n), PARAMS, days=20, runs=30, seed=1)
    assert res.probability.shape == (21, hosts.n)
    assert np.all((res.probability >= 0.0) & (res.probability <= 1.0))
    # No recovery: once above the threshold a host stays there in every run.
    assert np.all(np.diff(res.probability, axis=0) >= 0.0)
    assert np.all(np.diff(res.towers_blighted_mean) >= 0.0)
    assert res.probability[0, 7] == 1.0 and res.probability[-1].sum() > 3.0
    q05, q50, q95 = res.intensity_quantiles
    assert np.all(q05 <= q50) and np.all(q50 <= q95)
    assert np.all(q05 >= 0.0) and np.all(q95 <= 1.0)
    assert np.any(q05 < q95)
    # The mean need not lie in the 5-95 % band (a host blighted in 1 run of 30 has
    # q95 = 0); on day 0 every run agrees (se = 0) and it equals the median.
    np.testing.assert_allclose(res.mean_intensity[0], q50[0], atol=1e-6)
    assert np.all((res.mean_intensity >= 0.0) & (res.mean_intensity <= 1.0))
    assert np.all(res.towers_blighted_p05 <= res.towers_blighted_mean)
    assert np.all(res.towers_blighted_mean <= res.towers_blighted_p95)
    assert res.towers_blighted.shape == (30, 21)
    assert res.towers_blighted[:, 0].tolist() == [1] * 30
    assert res.towers_blighted_p95[-1] > res.towers_blighted_p05[0]


def test_blighted_towers_counted_once_per_tower(hosts: Hosts) -> None:
    mean = np.zeros(hosts.n)
    mean[[6, 7, 8, 12]] = 0.5  # all three tiers of T-2, one of T-4
    res = ensemble(hosts, mean, np.zeros(hosts.n), PARAMS, days=0, runs=2, seed=0)
    assert res.towers_blighted.tolist() == [[2], [2]]


def test_same_seed_reproducible(hosts: Hosts) -> None:
    args = (hosts, source(hosts), np.full(hosts.n, 0.05), PARAMS)
    a = ensemble(*args, days=10, runs=8, seed=4)
    b = ensemble(*args, days=10, runs=8, seed=4)
    c = ensemble(*args, days=10, runs=8, seed=5)
    np.testing.assert_array_equal(a.mean_intensity, b.mean_intensity)
    np.testing.assert_array_equal(a.towers_blighted, b.towers_blighted)
    assert not np.array_equal(a.mean_intensity, c.mean_intensity)


def test_zero_se_runs_start_equal(hosts: Hosts) -> None:
    res = ensemble(hosts, source(hosts), np.zeros(hosts.n), PARAMS, days=3, runs=12, seed=2)
    for q in res.intensity_quantiles[:, 0]:
        np.testing.assert_array_equal(q, source(hosts))
    assert set(np.unique(res.probability[0])) == {0.0, 1.0}


def test_field_error_spreads_the_start(hosts: Hosts) -> None:
    mean = np.full(hosts.n, 0.2)
    res = ensemble(hosts, mean, np.full(hosts.n, 0.1), PARAMS, days=0, runs=200, seed=2)
    q05, q50, q95 = res.intensity_quantiles[:, 0]
    assert np.all(q05 < q50) and np.all(q50 < q95)
    assert np.all(q05 >= 0.0) and np.all(q95 <= 1.0)
    assert np.all((res.probability[0] > 0.2) & (res.probability[0] < 0.8))


def test_draw_initial_stays_in_unit_interval() -> None:
    rng = np.random.default_rng(0)
    mean = np.array([0.0, 0.5, 1.0, 1.3, -0.2])
    draws = np.stack([draw_initial(mean, np.full(5, 0.5), rng) for _ in range(500)])
    assert draws.min() >= 0.0 and draws.max() <= 1.0
    np.testing.assert_array_equal(draw_initial(mean, np.zeros(5), rng), [0, 0.5, 1, 1, 0])


def test_progress_called_once_per_run(hosts: Hosts) -> None:
    calls: list[tuple[int, int]] = []
    ensemble(
        hosts,
        source(hosts),
        np.zeros(hosts.n),
        PARAMS,
        days=2,
        runs=5,
        seed=0,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(k, 5) for k in range(1, 6)]


def test_wind_carries_blight_downwind(hosts: Hosts) -> None:
    east = replace(
        PARAMS, within_tower_fraction=0.0, wind_dir_deg=90.0, wind_kappa=20.0, short_scale_m=20.0
    )
    res = ensemble(hosts, source(hosts), np.zeros(hosts.n), east, days=10, runs=40, seed=3)
    per_tower = res.probability[-1].reshape(5, 3).max(axis=1)
    west, east_side = per_tower[:2].sum(), per_tower[3:].sum()
    assert east_side > 0.5
    assert east_side > 5 * west
    # Turned around, the wind infects the west instead.
    back = replace(east, wind_dir_deg=270.0)
    res = ensemble(hosts, source(hosts), np.zeros(hosts.n), back, days=10, runs=40, seed=3)
    per_tower = res.probability[-1].reshape(5, 3).max(axis=1)
    assert per_tower[:2].sum() > 5 * per_tower[3:].sum()


def test_histogram_fallback_close_to_exact(hosts: Hosts) -> None:
    args = (hosts, source(hosts), np.full(hosts.n, 0.02), PARAMS)
    exact = ensemble(*args, days=8, runs=40, seed=6)
    binned = ensemble(*args, days=8, runs=40, seed=6, max_memory_bytes=0, quantile_bins=100)
    assert exact.exact_quantiles and not binned.exact_quantiles
    np.testing.assert_array_equal(exact.probability, binned.probability)
    # Within a bin width, at the bin's centre; the 5 % and 95 % levels of 40 runs
    # interpolate between order statistics, hence a little more slack.
    np.testing.assert_allclose(binned.intensity_quantiles, exact.intensity_quantiles, atol=0.03)


def test_to_dict_is_json(hosts: Hosts) -> None:
    res = ensemble(hosts, source(hosts), np.zeros(hosts.n), PARAMS, days=4, runs=3, seed=0)
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["runs"] == 3 and doc["days"] == 4 and doc["threshold"] == 0.2
    assert len(doc["towers_blighted"]["mean"]) == 5
    assert len(doc["hosts"]) == hosts.n
    assert doc["hosts"][7]["tower_id"] == "T-2" and doc["hosts"][7]["level"] == 1
    assert doc["hosts"][7]["probability"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"runs": 0}, "runs"),
        ({"days": -1}, "days"),
        ({"threshold": 1.0}, "threshold"),
    ],
)
def test_rejects_bad_arguments(hosts: Hosts, kwargs: dict[str, float], field: str) -> None:
    args: dict[str, float] = {"days": 2, "runs": 2, "seed": 0, **kwargs}
    with pytest.raises(InvalidParameter) as err:
        ensemble(hosts, source(hosts), np.zeros(hosts.n), PARAMS, **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_rejects_negative_se(hosts: Hosts) -> None:
    with pytest.raises(InvalidParameter) as err:
        ensemble(hosts, source(hosts), np.full(hosts.n, -0.1), PARAMS, days=1, runs=1, seed=0)
    assert err.value.field == "initial_intensity_se"


def test_protection_by_day_stops_establishment_from_day_k(hosts: Hosts) -> None:
    days, k = 15, 5
    schedule = np.zeros((days + 1, hosts.n))
    schedule[k:] = 1.0
    args = (hosts, source(hosts), np.zeros(hosts.n), PARAMS, days, 20, 3)
    free = ensemble(*args)
    shielded = ensemble(*args, protection_by_day=schedule)
    # Same seed, same protection up to day k: identical trajectories.
    np.testing.assert_array_equal(shielded.mean_intensity[: k + 1], free.mean_intensity[: k + 1])
    np.testing.assert_array_equal(shielded.probability[: k + 1], free.probability[: k + 1])
    np.testing.assert_array_equal(
        shielded.towers_blighted[:, : k + 1], free.towers_blighted[:, : k + 1]
    )
    # From day k on, nothing establishes nor grows.
    np.testing.assert_array_equal(
        shielded.mean_intensity[k:],
        np.broadcast_to(shielded.mean_intensity[k], (days + 1 - k, hosts.n)),
    )
    assert np.all(shielded.towers_blighted[:, k:] == shielded.towers_blighted[:, [k]])
    assert np.all(shielded.towers_blighted[:, k:] <= free.towers_blighted[:, k:])
    assert np.all(shielded.probability[k:] <= free.probability[k:])
    assert shielded.mean_intensity[-1].sum() < free.mean_intensity[-1].sum()


def test_protection_by_day_constant_matches_hosts_protection(hosts: Hosts) -> None:
    prot = np.linspace(0.0, 0.8, hosts.n)
    args = (source(hosts), np.zeros(hosts.n), PARAMS, 10, 5, 4)
    fixed = ensemble(replace(hosts, protection=prot), *args)
    daily = ensemble(hosts, *args, protection_by_day=np.tile(prot, (11, 1)))
    np.testing.assert_array_equal(daily.mean_intensity, fixed.mean_intensity)


@pytest.mark.parametrize(
    "schedule",
    [
        np.zeros((10, 15)),
        np.zeros((11, 14)),
        np.zeros(15),
        np.full((11, 15), 1.5),
        np.full((11, 15), np.nan),
    ],
)
def test_rejects_bad_protection_by_day(hosts: Hosts, schedule: np.ndarray) -> None:
    with pytest.raises(InvalidParameter) as err:
        ensemble(
            hosts, source(hosts), np.zeros(hosts.n), PARAMS, 10, 2, 0, protection_by_day=schedule
        )
    assert err.value.field == "protection_by_day"
