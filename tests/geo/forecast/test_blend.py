"""Choosing what to serve per horizon: spread model, growth only, persistence or a blend."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.blend import (
    SPREAD_ONLY,
    HorizonPairs,
    choose_blend,
    mix_counts,
    serve_mixture,
    weights_by_day,
)
from geo.forecast.runs import RunsSummary
from geo.forecast.skill import brier_score


def _pairs(seed: int, spread_bias: float) -> HorizonPairs:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.0, 1.0, 400)
    outcome = rng.random(400) < truth
    spread = np.clip(truth + spread_bias, 0.0, 1.0)
    growth = np.clip(truth + 0.1 * rng.standard_normal(400), 0.0, 1.0)
    persistence = (truth > 0.5).astype(np.float64)
    return HorizonPairs(7, spread, growth, persistence, outcome, 2)


def test_a_good_spread_model_is_served_alone() -> None:
    blend = choose_blend(_pairs(1, 0.0))
    assert blend.weights == (1.0, 0.0, 0.0) and blend.serves == "spread"
    assert "scores best alone" in blend.reason


def test_a_spread_model_that_loses_is_blended_or_replaced() -> None:
    pairs = _pairs(2, 0.6)  # far too much blight
    blend = choose_blend(pairs)
    assert blend.weights[0] < 0.5
    assert blend.brier["served"] < blend.brier["spread"]
    assert blend.brier["served"] <= min(blend.brier["growth"], blend.brier["persistence"])
    served = brier_score(np.clip(pairs.mix(blend.weights), 0, 1), pairs.outcome)
    assert served == pytest.approx(blend.brier["served"])
    assert "where the spread model alone has" in blend.reason


def test_no_pairs_is_an_error() -> None:
    empty = np.zeros(0)
    with pytest.raises(InvalidParameter):
        choose_blend(HorizonPairs(1, empty, empty, empty, empty.astype(bool), 0))


def test_weights_are_interpolated_between_horizons_and_unverified_past_them() -> None:
    days = weights_by_day({1: (1.0, 0.0, 0.0), 3: (0.0, 0.0, 1.0)}, 5)
    assert days[0] == ((1.0, 0.0, 0.0), True)
    assert days[1][0] == pytest.approx((0.5, 0.0, 0.5)) and days[1][1]
    assert days[2] == ((0.0, 0.0, 1.0), True)
    assert days[3] == ((0.0, 0.0, 1.0), False) and days[4][1] is False
    assert weights_by_day({}, 2) == [(SPREAD_ONLY.weights, False)] * 2


def test_mixture_counts_and_probabilities() -> None:
    counts = mix_counts(np.arange(8), np.arange(8) + 100, 50, (0.5, 0.25, 0.25))
    assert counts.tolist() == [0, 1, 2, 3, 104, 105, 50, 50]
    spread = RunsSummary(np.full((3, 2), 0.8), np.full((3, 2), 0.9), np.full((4, 3), 2))
    growth = RunsSummary(np.full((3, 2), 0.2), np.full((3, 2), 0.3), np.full((4, 3), 1))
    persisted, towers = np.array([True, False]), np.array([False, False])
    served = serve_mixture(spread, growth, persisted, towers, [(1, 0, 0), (0.5, 0.5, 0.0)])
    np.testing.assert_allclose(served.probability[2], [0.5, 0.5])
    np.testing.assert_allclose(served.tower_probability[2], [0.6, 0.6])
    assert served.towers_blighted[:, 2].tolist() == [2, 2, 1, 1]
    with pytest.raises(InvalidParameter):
        serve_mixture(spread, None, persisted, towers, [(1, 0, 0), (0.5, 0.5, 0.0)])
