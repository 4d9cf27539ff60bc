"""Tests of daily observed tier states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts
from geo.forecast.observed import ObservedSeries, daily_tier_states
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
