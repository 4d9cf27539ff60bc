"""The outbreak truth: shapes, ranges, spread, reproducibility, argument checks."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from geo.demo import (
    OutbreakConfig,
    OutbreakHistory,
    demo_towers,
    history_truth_at,
    simulate_outbreak,
)
from geo.layer import Tower

from .conftest import END


def _blighted(history: OutbreakHistory, step: int, threshold: float = 0.2) -> int:
    return sum(v > threshold for v in history.tower_intensity(step).values())


def test_times_and_shapes(towers: list[Tower], history: OutbreakHistory) -> None:
    n_tiers = sum(len(t.tiers) for t in towers)
    assert len(history.times) == 14 * 24 + 1
    assert history.times[0] == END - timedelta(days=14)
    assert history.times[-1] == END
    assert all(t.utcoffset() == timedelta(0) for t in history.times)
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(history.times))
    assert history.intensity.shape == (len(history.times), n_tiers)
    assert history.microbial_balance.shape == history.intensity.shape
    assert history.wind_speed_m_s.shape == (len(history.times),)
    assert history.tier_index == tuple((t.id, tier.level) for t in towers for tier in t.tiers)


def test_values_in_range_and_read_only(history: OutbreakHistory) -> None:
    for array in (history.intensity, history.microbial_balance):
        assert np.all((array >= 0.0) & (array <= 1.0))
        with pytest.raises(ValueError):
            array[0, 0] = 0.5
    assert np.all(history.wind_speed_m_s >= history.config.min_wind_m_s)
    assert np.all((history.wind_from_deg >= 0.0) & (history.wind_from_deg < 360.0))


def test_wind_varies_around_the_prevailing_direction(history: OutbreakHistory) -> None:
    radians = np.radians(history.wind_from_deg)
    mean = np.degrees(np.arctan2(np.sin(radians).mean(), np.cos(radians).mean())) % 360
    assert 180.0 < mean < 300.0  # south-westerlies, as in the Netherlands
    assert np.std(np.diff(history.wind_from_deg)) > 1.0
    assert 2.0 < float(np.median(history.wind_speed_m_s)) < 8.0


def test_starts_from_one_or_two_index_towers(history: OutbreakHistory) -> None:
    assert 1 <= len(history.index_tiers) <= 2
    infected = {k for k, v in zip(history.tier_index, history.intensity[0], strict=True) if v > 0}
    assert infected == set(history.index_tiers)
    assert _blighted(history, 0) == 0


@pytest.mark.parametrize(
    ("tower_seed", "seed"),
    [(7, 11), (7, 1), (7, 2), (7, 3), (7, 4), (1, 11), (3, 6), (4, 4)],
)
def test_outbreak_spreads_to_some_towers_but_not_all(tower_seed: int, seed: int) -> None:
    towers = demo_towers(tower_seed)
    history = simulate_outbreak(towers, end=END, seed=seed)
    n = len(towers)
    by_day = [_blighted(history, 24 * day) for day in (0, 4, 7, 10, 14)]
    assert by_day[0] == 0
    assert by_day == sorted(by_day)  # spreads over time
    assert by_day[-1] >= by_day[2] + 5
    assert 0.2 * n <= by_day[-1] <= 0.7 * n
    clean = sum(v < 0.05 for v in history.tower_intensity().values())
    assert clean >= 0.05 * n  # some towers stay clean
    assert history.intensity[-1].max() > 0.5


def test_history_truth_at_interpolates(history: OutbreakHistory) -> None:
    k = 200
    at_step = history_truth_at(history, history.times[k])
    assert list(at_step) == list(history.tier_index)
    assert np.allclose(list(at_step.values()), history.intensity[k])
    half = history_truth_at(history, history.times[k] + timedelta(minutes=30))
    expected = (history.intensity[k] + history.intensity[k + 1]) / 2
    assert np.allclose(list(half.values()), expected)
    assert np.allclose(list(history_truth_at(history, END).values()), history.intensity[-1])
    cet = history_truth_at(history, history.times[k].astimezone(timezone(timedelta(hours=2))))
    assert cet == at_step


@pytest.mark.parametrize(
    "moment",
    [END.replace(tzinfo=None), END + timedelta(seconds=1), END - timedelta(days=15)],
)
def test_history_truth_at_rejects_bad_moments(history: OutbreakHistory, moment: datetime) -> None:
    with pytest.raises(ValueError, match="moment"):
        history_truth_at(history, moment)


def test_reproducible(towers: list[Tower], history: OutbreakHistory) -> None:
    again = simulate_outbreak(towers, end=END)
    assert np.array_equal(again.intensity, history.intensity)
    assert np.array_equal(again.microbial_balance, history.microbial_balance)
    assert again.observations == history.observations
    other = simulate_outbreak(towers, end=END, seed=12)
    assert not np.array_equal(other.intensity, history.intensity)
    assert other.observations != history.observations


def test_report_parameters_do_not_change_the_truth(
    towers: list[Tower], history: OutbreakHistory
) -> None:
    config = dataclasses.replace(OutbreakConfig(), sensor_noise_sd=0.1, person_reports_per_day=9)
    noisier = simulate_outbreak(towers, end=END, config=config)
    assert np.array_equal(noisier.intensity, history.intensity)
    assert noisier.observations != history.observations


def test_three_hourly_steps(towers: list[Tower]) -> None:
    history = simulate_outbreak(towers, end=END, days=4, config=OutbreakConfig(step_hours=3.0))
    assert len(history.times) == 4 * 8 + 1
    assert history.intensity.shape[0] == len(history.times)
    assert all(history.times[0] <= o.observed_at <= END for o in history.observations)


def test_end_is_converted_to_utc(towers: list[Tower]) -> None:
    local_end = END.astimezone(timezone(timedelta(hours=2)))
    history = simulate_outbreak(towers, end=local_end, days=1)
    assert history.times[-1] == END and history.times[-1].tzinfo == UTC


def test_argument_checks(towers: list[Tower]) -> None:
    with pytest.raises(ValueError, match="timezone"):
        simulate_outbreak(towers, end=END.replace(tzinfo=None))
    with pytest.raises(ValueError, match="days"):
        simulate_outbreak(towers, end=END, days=0)
    with pytest.raises(ValueError, match="empty"):
        simulate_outbreak([], end=END)
    with pytest.raises(ValueError, match="unique"):
        simulate_outbreak([towers[0], towers[0]], end=END)


@pytest.mark.parametrize(
    "changes",
    [
        {"plants_per_tier": 0},
        {"step_hours": 5.0},
        {"sensor_tier_fraction": 1.5},
        {"growth_rate_per_day": -0.1},
        {"person_hours_utc": (20.0, 7.0)},
    ],
)
def test_config_rejects_bad_values(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OutbreakConfig(**changes)  # type: ignore[arg-type]


def test_demo_package_stays_pure() -> None:
    code = (
        "import sys, geo.demo; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'service', 'scipy') or m in ('geo.crs', 'geo.forecast')]; "
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
