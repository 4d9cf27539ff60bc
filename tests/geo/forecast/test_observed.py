"""Tests of daily observed tier states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts
from geo.forecast.observed import ObservedSeries, daily_tier_states, noise_floor
from geo.observations import Observation, Source

START = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def hosts() -> Hosts:
    """Two towers, A with levels 0-1 and B with levels 0-2 (5 hosts)."""
    return Hosts(
        x_m=np.array([0.0, 0.0, 30.0, 30.0, 30.0]),
        y_m=np.zeros(5),
        z_m=np.array([1.0, 4.0, 1.0, 4.0, 7.0]),
        tower_index=np.array([0, 0, 1, 1, 1]),
        susceptible_fraction=np.ones(5),
        protection=np.zeros(5),
        removed=np.zeros(5, bool),
        level=np.array([0, 1, 0, 1, 2]),
        tower_ids=("A", "B"),
    )


def obs(
    oid: str, hours: float, value: float, tower: str | None = "A", tier: int | None = 0
) -> Observation:
    return Observation(
        id=oid,
        lon=5.12,
        lat=52.09,
        observed_at=START + timedelta(hours=hours),
        intensity=value,
        source=Source.SENSOR,
        tower_id=tower,
        tier=tier,
    )


def test_latest_of_the_day_wins_and_unobserved_is_nan(hosts: Hosts) -> None:
    reports = [
        obs("late", 20.0, 0.4),  # day 0, A/0, latest of the day
        obs("early", 2.0, 0.1),
        obs("b2", 30.0, 0.7, "B", 2),  # day 1, host 4
        obs("b2-earlier", 25.0, 0.9, "B", 2),  # same day, earlier: loses
        obs("no-tier", 3.0, 0.5, "A", None),
        obs("no-tower", 3.0, 0.5, None, 1),
        obs("unknown-tier", 3.0, 0.5, "A", 7),
        obs("unknown-tower", 3.0, 0.5, "Z", 0),
        obs("before", -1.0, 0.5),
        obs("after", 72.0, 0.5),  # day 3 is outside 3 days
    ]
    series = daily_tier_states(reports, hosts, START, days=3)
    assert series.intensity.shape == (3, 5) and series.days == 3 and series.n == 5
    assert series.intensity[0, 0] == pytest.approx(0.4)
    assert series.intensity[1, 4] == pytest.approx(0.7)
    expected = np.zeros((3, 5), bool)
    expected[0, 0] = expected[1, 4] = True
    np.testing.assert_array_equal(series.observed_mask, expected)
    assert np.isnan(series.intensity[~expected]).all()
    with pytest.raises(ValueError):
        series.intensity[0, 0] = 0.0  # read-only


def test_filled_carries_the_last_observation_forward(hosts: Hosts) -> None:
    series = daily_tier_states(
        [obs("a", 1.0, 0.3), obs("a2", 49.0, 0.5), obs("b", 25.0, 0.2, "B", 1)],
        hosts,
        START,
        days=4,
    )
    np.testing.assert_allclose(series.filled(0), [0.3, 0, 0, 0, 0])
    np.testing.assert_allclose(series.filled(1), [0.3, 0, 0, 0.2, 0])
    np.testing.assert_allclose(series.filled(3), [0.5, 0, 0, 0.2, 0])
    state = series.state(3)
    assert state.day == 0 and np.all(state.exposed_days == -1)
    with pytest.raises(InvalidParameter):
        series.filled(4)


def test_invalid_inputs(hosts: Hosts) -> None:
    with pytest.raises(InvalidParameter):
        daily_tier_states([], hosts, START, days=0)
    with pytest.raises(InvalidParameter):
        daily_tier_states([], hosts, datetime(2026, 5, 1), days=2)
    with pytest.raises(InvalidParameter):
        ObservedSeries(np.full((2, 3), 1.5), START)


def test_mean_aggregate_averages_a_days_reports(hosts: Hosts) -> None:
    reports = [obs("a", 1.0, 0.1), obs("b", 7.0, 0.3), obs("c", 13.0, 0.2), obs("d", 25.0, 0.6)]
    mean = daily_tier_states(reports, hosts, START, days=2, aggregate="mean")
    latest = daily_tier_states(reports, hosts, START, days=2)
    assert mean.intensity[0, 0] == pytest.approx(0.2)
    assert latest.intensity[0, 0] == pytest.approx(0.2)  # 13:00 is the latest
    assert mean.intensity[1, 0] == pytest.approx(0.6)
    with pytest.raises(InvalidParameter):
        daily_tier_states(reports, hosts, START, days=2, aggregate="median")  # type: ignore[arg-type]


def test_detection_floor_zeroes_noise_and_keeps_the_raw_values() -> None:
    raw = np.array([[0.02, 0.0, 0.3, np.nan], [0.06, 0.04, 0.5, 0.1]])
    series = ObservedSeries(raw, START).with_detection_floor(0.05, noise_sd=0.03)
    np.testing.assert_allclose(series.intensity[0, :3], [0.0, 0.0, 0.3])
    np.testing.assert_allclose(series.intensity[1], [0.06, 0.0, 0.5, 0.1])
    np.testing.assert_array_equal(series.observed_mask, ~np.isnan(raw))
    np.testing.assert_allclose(series.filled(1, raw=True), [0.06, 0.04, 0.5, 0.1])
    assert (series.detection_floor, series.noise_sd) == (0.05, 0.03)
    with pytest.raises(InvalidParameter):
        series.with_detection_floor(0.01)  # below the floor already applied
    with pytest.raises(InvalidParameter):
        ObservedSeries(raw, START, noise_sd=-0.1)
    with pytest.raises(InvalidParameter):
        ObservedSeries(raw, START, raw_intensity=np.zeros((2, 4)))  # gaps differ


def test_draw_state_carries_the_observation_error() -> None:
    # Host 0 observed at 0, host 1 just below the floor, host 2 well above it.
    raw = np.array([[0.0, 0.045, 0.3]])
    series = ObservedSeries(raw, START).with_detection_floor(0.05, noise_sd=0.02)
    rng = np.random.default_rng(0)
    draws = np.array([series.draw_state(0, rng).intensity for _ in range(4000)])
    infected = (draws > 0).mean(axis=0)
    # P(0 + 0.02 z >= 0.05) = 0.006; P(0.045 + 0.02 z >= 0.05) = 0.40; P(...0.3...) = 1.
    assert infected[0] < 0.02
    assert infected[1] == pytest.approx(0.40, abs=0.04)
    assert infected[2] == 1.0 and draws[:, 2].mean() == pytest.approx(0.3, abs=0.002)
    assert np.all(draws[draws > 0] >= 0.05)
    # Without noise it is the observed state itself.
    plain = ObservedSeries(raw, START)
    np.testing.assert_array_equal(plain.draw_state(0, rng).intensity, raw[0])


def test_noise_floor_is_a_quantile_of_the_first_days() -> None:
    rng = np.random.default_rng(1)
    noise = np.clip(rng.normal(0.0, 0.03, size=(3, 2000)), 0.0, 1.0)
    noise[2] = 0.9  # later days do not count
    floor = noise_floor(ObservedSeries(noise, START), days=2)
    assert floor == pytest.approx(1.645 * 0.03, rel=0.08)
    with pytest.raises(InvalidParameter):
        noise_floor(ObservedSeries(noise, START), days=4)
    with pytest.raises(InvalidParameter):
        noise_floor(ObservedSeries(np.full((2, 3), np.nan), START))
