"""From observations to samples: window, weights, latest-wins, heights, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from geo.crs import LocalFrame
from geo.errors import GeoError, TooFewObservations
from geo.interpolate.samples import (
    SampleOptions,
    Samples,
    aggregate_duplicates,
    prepare_samples,
)
from geo.observations import Observation, Source
from geo.tower_index import TowerIndex
from tests.geo.conftest import BERLIN, make_tower, offset

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FRAME = LocalFrame.for_lonlat([BERLIN[0]], [BERLIN[1]])
TOWER = make_tower("T-01", *BERLIN, half_m=10.0, height_m=12.0, base_height_m=34.0)
"""Tiers at 0, 4 and 8 m above a base 34 m above the ellipsoid."""
TOWERS = {TOWER.id: TOWER}


def obs(
    i: int | str,
    east_m: float = 0.0,
    *,
    age_days: float = 0.0,
    intensity: float = 0.5,
    **kwargs: Any,
) -> Observation:
    """An observation ``east_m`` east of the tower, ``age_days`` before NOW."""
    lon, lat = offset(*BERLIN, east_m=east_m) if east_m else BERLIN
    return Observation(
        id=str(i),
        lon=lon,
        lat=lat,
        observed_at=NOW - timedelta(days=age_days),
        intensity=intensity,
        source=Source.SENSOR,
        **kwargs,
    )


def spread(n: int, **kwargs: Any) -> list[Observation]:
    """``n`` observations 100 m apart along a street east of the tower."""
    return [obs(f"s{i}", 100.0 * (i + 1), **kwargs) for i in range(n)]


def prepare(observations: list[Observation], **kwargs: Any) -> Samples:
    return prepare_samples(observations, FRAME, TOWERS, **kwargs)


def test_reference_time_is_the_newest_observation_even_when_stale() -> None:
    stale = spread(3, age_days=30.0)
    samples = prepare(stale)
    assert samples.reference_time == NOW - timedelta(days=30)
    assert len(samples) == 3
    np.testing.assert_allclose(samples.weights, 1.0)


@pytest.mark.parametrize(
    ("age_days", "kept"), [(0.0, True), (6.9, True), (7.0, True), (7.1, False), (30.0, False)]
)
def test_window_keeps_only_recent_observations(age_days: float, kept: bool) -> None:
    samples = prepare([*spread(3), obs("old", 50.0, age_days=age_days)])
    assert ("old" in samples.ids) is kept


def test_observations_after_an_explicit_reference_time_are_left_out() -> None:
    samples = prepare(
        [*spread(3, age_days=1.0), obs("future", 50.0)], reference_time=NOW - timedelta(days=1)
    )
    assert "future" not in samples.ids
    np.testing.assert_allclose(samples.weights, 1.0)


@pytest.mark.parametrize(
    ("age_days", "confidence", "weight"),
    [(0.0, None, 1.0), (2.0, None, 0.5), (4.0, None, 0.25), (1.0, None, 2**-0.5), (2.0, 0.5, 0.25)],
)
def test_weight_is_time_decay_times_confidence(
    age_days: float, confidence: float | None, weight: float
) -> None:
    samples = prepare([*spread(3), obs("w", 50.0, age_days=age_days, confidence=confidence)])
    assert samples.weights[samples.ids.index("w")] == pytest.approx(weight)


def test_half_life_is_an_option() -> None:
    options = SampleOptions(half_life_days=1.0)
    samples = prepare([*spread(3), obs("w", 50.0, age_days=2.0)], options=options)
    assert samples.weights[samples.ids.index("w")] == pytest.approx(0.25)


def test_zero_confidence_observations_carry_nothing() -> None:
    samples = prepare([*spread(3), obs("nil", 50.0, confidence=0.0)])
    assert "nil" not in samples.ids


def test_same_tower_tier_counts_once_and_the_latest_wins() -> None:
    reports = [
        obs("early", age_days=2.0, intensity=0.1, tower_id="T-01", tier=1),
        obs("late", age_days=1.0, intensity=0.9, tower_id="T-01", tier=1),
        obs("middle", age_days=1.5, intensity=0.4, tower_id="T-01", tier=1),
        obs("other-tier", age_days=2.0, intensity=0.2, tower_id="T-01", tier=2),
    ]
    samples = prepare([*spread(2), *reports])
    assert "late" in samples.ids and "other-tier" in samples.ids
    assert "early" not in samples.ids and "middle" not in samples.ids
    assert samples.values[samples.ids.index("late")] == 0.9


@pytest.mark.parametrize(("tier", "height_m"), [(0, 0.0), (1, 4.0), (2, 8.0)])
def test_tier_observations_sit_at_the_footprint_centroid_at_tier_height(
    tier: int, height_m: float
) -> None:
    far = offset(*BERLIN, east_m=8.0)  # reported a little off: the tower centroid wins
    o = Observation("t", far[0], far[1], NOW, 0.3, Source.DRONE, tower_id="T-01", tier=tier)
    samples = prepare([*spread(3), o])
    i = samples.ids.index("t")
    cx, cy = FRAME.to_local(*TOWER.centroid_lonlat)
    assert (samples.x_m[i], samples.y_m[i]) == pytest.approx((cx, cy), abs=1e-6)
    assert samples.z_m[i] == height_m


def test_third_coordinate_on_a_tower_gives_height_above_the_base() -> None:
    o = obs("h", 5.0, tower_id="T-01", height_ellipsoid_m=34.0 + 6.5)
    samples = prepare([*spread(3), o])
    i = samples.ids.index("h")
    assert samples.z_m[i] == pytest.approx(6.5)
    x, y = FRAME.to_local(*offset(*BERLIN, east_m=5.0))
    assert (samples.x_m[i], samples.y_m[i]) == pytest.approx((x, y), abs=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"height_ellipsoid_m": 80.0},
        {"tower_id": "T-99", "tier": 1},
        {"tower_id": "T-01", "tier": 7},
    ],
    ids=["plain", "height-without-tower", "unknown-tower", "unknown-tier"],
)
def test_other_observations_sit_at_their_position_at_default_height(
    kwargs: dict[str, Any],
) -> None:
    options = SampleOptions(default_height_m=1.2)
    samples = prepare([*spread(3), obs("p", 30.0, **kwargs)], options=options)
    i = samples.ids.index("p")
    x, y = FRAME.to_local(*offset(*BERLIN, east_m=30.0))
    assert (samples.x_m[i], samples.y_m[i], samples.z_m[i]) == pytest.approx((x, y, 1.2), abs=1e-6)


def test_a_tower_index_works_like_a_mapping() -> None:
    o = obs("t", tower_id="T-01", tier=2)
    by_index = prepare_samples([*spread(3), o], FRAME, TowerIndex([TOWER]))
    by_mapping = prepare([*spread(3), o])
    np.testing.assert_array_equal(by_index.z_m, by_mapping.z_m)
    np.testing.assert_array_equal(by_index.x_m, by_mapping.x_m)


@pytest.mark.parametrize(
    "observations",
    [[], spread(2), [*spread(2), obs("old", age_days=9.0)]],
    ids=["none", "two", "two-recent"],
)
def test_too_few_observations(observations: list[Observation]) -> None:
    with pytest.raises(TooFewObservations) as err:
        prepare(observations)
    assert err.value.field == "observations"


def test_same_tier_reports_count_once_towards_the_minimum() -> None:
    repeated = [obs(i, age_days=i / 10, tower_id="T-01", tier=0) for i in range(5)]
    with pytest.raises(TooFewObservations):
        prepare(repeated)


def test_coords_scale_the_height_only() -> None:
    samples = Samples.from_arrays([1.0, 2.0], [3.0, 4.0], [0.1, 0.2], z_m=[0.0, 3.0])
    np.testing.assert_array_equal(samples.coords(10.0), [[1, 3, 0], [2, 4, 30]])
    np.testing.assert_array_equal(samples.coords(), samples.coords(10.0))
    np.testing.assert_array_equal(samples.z_m, [0.0, 3.0])


@pytest.mark.parametrize(
    "options",
    [{"half_life_days": 0.0}, {"window_days": -1.0}, {"vertical_scale": float("nan")}],
)
def test_sample_options_are_checked(options: dict[str, float]) -> None:
    with pytest.raises(GeoError) as err:
        SampleOptions(**options)
    assert err.value.field == next(iter(options))


def test_duplicates_are_merged_into_a_weighted_mean() -> None:
    samples = Samples.from_arrays(
        [0.0, 5.0, 0.0, 9.0],
        [0.0, 0.0, 0.0, 1.0],
        [0.2, 0.5, 0.8, 0.1],
        weights=[0.25, 1.0, 0.5, 1.0],
    )
    merged = aggregate_duplicates(samples)
    assert len(merged) == 3
    np.testing.assert_allclose(merged.x_m, [0.0, 5.0, 9.0])
    assert merged.values[0] == pytest.approx((0.25 * 0.2 + 0.5 * 0.8) / 0.75)
    np.testing.assert_allclose(merged.weights, [0.75, 1.0, 1.0])
    np.testing.assert_allclose(merged.values[1:], [0.5, 0.1])


def test_merged_weight_is_capped_at_one_and_the_latest_id_is_kept() -> None:
    base = Samples.from_arrays(
        [0.0, 1e-7, 2.0], [0.0, 0.0, 0.0], [0.2, 0.4, 0.6], weights=[0.8, 0.9, 1.0]
    )
    later = base.observed_at.copy()
    later[1] += np.timedelta64(1, "h")
    samples = Samples(
        base.x_m,
        base.y_m,
        base.z_m,
        base.values,
        base.weights,
        later,
        ("a", "b", "c"),
        base.reference_time,
    )
    merged = aggregate_duplicates(samples)
    assert merged.ids == ("b", "c")
    assert merged.weights[0] == 1.0
    assert merged.observed_at[0] == later[1]


def test_samples_at_different_heights_are_not_duplicates() -> None:
    samples = Samples.from_arrays(
        [0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.2, 0.4, 0.6], z_m=[0.0, 4.0, 0.0]
    )
    assert aggregate_duplicates(samples) is samples


def test_samples_check_their_arrays() -> None:
    with pytest.raises(GeoError):
        Samples.from_arrays([0.0, 1.0], [0.0], [0.1, 0.2])
    with pytest.raises(GeoError):
        Samples.from_arrays([0.0, 1.0], [0.0, 1.0], [0.1, 0.2], weights=[1.0, 0.0])


def test_a_naive_reference_time_is_refused() -> None:
    with pytest.raises(GeoError) as err:
        prepare(spread(3), reference_time=datetime(2026, 11, 26, 12, 0))
    assert err.value.field == "reference_time"
