"""Tests of the PoPS-style spread model on small synthetic towers (UTM 31N, Utrecht)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.errors import InvalidParameter
from geo.forecast.model import (
    Hosts,
    Kernel,
    SpreadParams,
    SpreadState,
    run,
    sample_distances,
    step,
)
from geo.layer import Tower
from tests.geo.conftest import make_tower, offset

UTRECHT = (5.12, 52.09)
FRAME = LocalFrame.for_lonlat([UTRECHT[0]], [UTRECHT[1]])


def line_towers(east_m: list[float], tier_count: int = 3) -> list[Tower]:
    """Towers on an east-west line through Utrecht, ``T-0, T-1, ...``."""
    return [
        make_tower(f"T-{k}", *offset(*UTRECHT, east_m=e), height_m=9.0, tier_count=tier_count)
        for k, e in enumerate(east_m)
    ]


def seeded(hosts: Hosts, host: int, intensity: float = 0.5) -> SpreadState:
    start = np.zeros(hosts.n)
    start[host] = intensity
    return SpreadState.initial(start)


def with_(hosts: Hosts, **arrays: object) -> Hosts:
    return replace(hosts, **arrays)  # type: ignore[arg-type]


FAST = SpreadParams(
    reproductive_rate=10.0,
    short_kernel="exponential",
    short_scale_m=25.0,
    within_tower_fraction=0.3,
    growth_rate_per_day=0.3,
)


@pytest.fixture
def hosts() -> Hosts:
    return Hosts.from_towers(line_towers([-40.0, -20.0, 0.0, 20.0, 40.0]), FRAME)


def test_frame_is_utm_31n() -> None:
    assert FRAME.epsg == 32631


def test_from_towers_one_host_per_tier(hosts: Hosts) -> None:
    assert hosts.n == 15
    assert hosts.tower_ids == ("T-0", "T-1", "T-2", "T-3", "T-4")
    np.testing.assert_array_equal(hosts.tower_index, np.repeat(np.arange(5), 3))
    assert hosts.level is not None
    np.testing.assert_array_equal(hosts.level, np.tile([0, 1, 2], 5))
    np.testing.assert_allclose(hosts.z_m, np.tile([0.0, 3.0, 6.0], 5))
    # 20 m apart in the local metric frame (UTM scale and grid convergence aside).
    gaps = np.hypot(np.diff(hosts.x_m[::3]), np.diff(hosts.y_m[::3]))
    np.testing.assert_allclose(gaps, 20.0, rtol=1e-3)
    assert np.all(np.diff(hosts.x_m[::3]) > 19.9)


def test_from_towers_takes_tier_mappings() -> None:
    towers = line_towers([0.0, 20.0], tier_count=2)
    h = Hosts.from_towers(
        towers,
        FRAME,
        susceptible_fraction={("T-0", 1): 0.25},
        protection={("T-1", 0): 0.5, ("T-1", 1): 0.5},
        removed={("T-0", 0)},
    )
    np.testing.assert_allclose(h.susceptible_fraction, [1.0, 0.25, 1.0, 1.0])
    np.testing.assert_allclose(h.protection, [0.0, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(h.removed, [True, False, False, False])


def test_hosts_reject_out_of_range() -> None:
    ones = np.ones(2)
    with pytest.raises(InvalidParameter) as err:
        Hosts(
            ones, ones, ones, np.zeros(2, np.int64), ones, np.array([0.0, 1.5]), np.zeros(2, bool)
        )
    assert err.value.field == "protection"
    with pytest.raises(InvalidParameter):
        Hosts(ones, ones, np.ones(3), np.zeros(2, np.int64), ones, ones, np.zeros(2, bool))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("reproductive_rate", -1.0),
        ("short_kernel", "gauss"),
        ("short_scale_m", 0.0),
        ("long_fraction", 1.5),
        ("wind_kappa", -0.1),
        ("within_tower_fraction", math.nan),
        ("latency_days", -1),
        ("latency_days", 1.5),
        ("environment", math.inf),
        ("initial_intensity", 0.0),
    ],
)
def test_params_validated(name: str, value: object) -> None:
    with pytest.raises(InvalidParameter) as err:
        SpreadParams(**{name: value})  # type: ignore[arg-type]
    assert err.value.field == name


def test_same_seed_same_result_other_seed_differs(hosts: Hosts) -> None:
    start = seeded(hosts, 7)
    a = run(hosts, start, FAST, 15, seed=3)
    b = run(hosts, start, FAST, 15, seed=3)
    c = run(hosts, start, FAST, 15, seed=4)
    assert a.shape == (16, hosts.n)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.count_nonzero(a[-1]) > 1


def test_no_spread_without_spores(hosts: Hosts) -> None:
    out = run(hosts, seeded(hosts, 7), replace(FAST, reproductive_rate=0.0), 30, seed=1)
    others = np.delete(out, 7, axis=1)
    assert np.all(others == 0.0)
    assert out[-1, 7] > out[0, 7]


def test_full_protection_blocks_establishment(hosts: Hosts) -> None:
    shielded = with_(hosts, protection=np.ones(hosts.n))
    out = run(shielded, seeded(shielded, 7), FAST, 30, seed=1)
    assert np.all(np.delete(out, 7, axis=1) == 0.0)
    # Without the shield the same run spreads.
    assert np.count_nonzero(run(hosts, seeded(hosts, 7), FAST, 30, seed=1)[-1]) > 1


def test_removed_hosts_never_change(hosts: Hosts) -> None:
    removed = np.zeros(hosts.n, dtype=bool)
    removed[[6, 8, 9, 14]] = True  # the source tower's other tiers, and neighbours
    start = seeded(hosts, 7)
    start_i = start.intensity.copy()
    start_i[14] = 0.3  # a removed, infected host neither grows nor spreads
    h = with_(hosts, removed=removed)
    out = run(h, SpreadState.initial(start_i), FAST, 30, seed=2)
    np.testing.assert_array_equal(out[:, removed], np.tile(start_i[removed], (31, 1)))
    assert np.count_nonzero(out[-1, ~removed]) > 2


def test_within_tower_fraction_one_keeps_blight_in_tower(hosts: Hosts) -> None:
    params = replace(FAST, within_tower_fraction=1.0)
    out = run(hosts, seeded(hosts, 7), params, 30, seed=5)
    in_tower = hosts.tower_index == 2
    assert np.all(out[:, ~in_tower] == 0.0)
    assert np.all(out[-1, in_tower] > 0.0)


def test_within_tower_kernel_prefers_near_tiers() -> None:
    towers = [make_tower("T-0", *UTRECHT, height_m=30.0, tier_count=10)]
    h = Hosts.from_towers(towers, FRAME)
    params = SpreadParams(
        reproductive_rate=3.0, within_tower_fraction=1.0, vertical_scale_m=3.0, latency_days=50
    )
    first_exposed = np.zeros(h.n)
    for seed in range(60):
        nxt = step(h, seeded(h, 0, 1.0), params, np.random.default_rng(seed))
        first_exposed += nxt.exposed_days >= 0
    assert first_exposed[1] > first_exposed[5] >= first_exposed[9]
    assert first_exposed[1] > 20


def test_cauchy_tail_heavier_than_exponential() -> None:
    rng = np.random.default_rng(0)
    cauchy = sample_distances("cauchy", 1.0, 100_000, rng)
    expo = sample_distances("exponential", 1.0, 100_000, rng)
    assert np.all(cauchy >= 0.0) and np.all(expo >= 0.0)
    far_cauchy = float(np.mean(cauchy > 10.0))
    far_expo = float(np.mean(expo > 10.0))
    assert far_cauchy == pytest.approx(1.0 - 2.0 / math.pi * math.atan(10.0), abs=0.005)
    assert far_expo < 0.001
    assert far_cauchy > 50 * far_expo
    assert np.median(expo) == pytest.approx(math.log(2.0), rel=0.03)


def test_distances_truncated() -> None:
    rng = np.random.default_rng(1)
    kernels: tuple[Kernel, ...] = ("cauchy", "exponential")
    for kernel in kernels:
        d = sample_distances(kernel, 50.0, 20_000, rng, max_distance_m=60.0)
        assert d.max() <= 60.0
        assert d.max() > 55.0


def test_logistic_growth_matches_closed_form() -> None:
    towers = [make_tower("T-0", *UTRECHT, tier_count=1)]
    h = Hosts.from_towers(towers, FRAME, protection={("T-0", 0): 0.5})
    params = SpreadParams(reproductive_rate=0.0, growth_rate_per_day=0.3)
    out = run(h, SpreadState.initial([0.02]), params, 40, seed=0)
    t = np.arange(41)
    r = 0.3 * (1.0 - 0.5)
    closed = 1.0 / (1.0 + (1.0 / 0.02 - 1.0) * np.exp(-r * t))
    np.testing.assert_allclose(out[:, 0], closed, rtol=1e-9)


def test_latency_delays_infection() -> None:
    towers = [make_tower("T-0", *UTRECHT, tier_count=1)]
    h = Hosts.from_towers(towers, FRAME)
    params = SpreadParams(reproductive_rate=0.0, latency_days=3, initial_intensity=0.1)
    state = SpreadState(np.zeros(1), np.zeros(1, dtype=np.int64))
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(4):
        state = step(h, state, params, rng)
        seen.append((float(state.intensity[0]), int(state.exposed_days[0])))
    assert seen[:2] == [(0.0, 1), (0.0, 2)]
    assert seen[2] == (0.1, -1)
    assert seen[3][0] > 0.1


def test_step_rejects_mismatched_state(hosts: Hosts) -> None:
    with pytest.raises(InvalidParameter):
        step(hosts, SpreadState.initial([0.1]), FAST, np.random.default_rng(0))
