"""Whether a treatment can matter to the towers it protects."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import InvalidParameter
from geo.forecast.effect import treatment_effect

IDS = ("a", "b", "c", "d")
INDEX = np.array([0, 0, 1, 2, 3])  # tower a has two tiers


def _base() -> np.ndarray:
    days = np.zeros((4, 4))
    days[:, 0] = 1.0  # a: blighted from the start
    days[:, 1] = [0.2, 0.4, 0.6, 0.7]  # b: at risk
    days[:, 2] = 0.01  # c: out of reach
    days[:, 3] = [0.0, 0.1, 0.5, 0.97]  # d: certain only later
    return days


def test_towers_are_sorted_by_whether_the_treatment_can_matter() -> None:
    extra = np.zeros((4, 5))
    extra[1:, :] = 0.5  # everything protected from day 1
    effect = treatment_effect(IDS, INDEX, _base(), extra)
    assert effect["already_certain"] == ["a"]
    assert effect["out_of_reach"] == ["c"]
    assert effect["can_matter"] == ["b", "d"]
    assert effect["treated_towers"] == 4 and "2 of 4" in effect["summary"]


def test_a_treatment_on_certain_towers_only_says_it_cannot_matter() -> None:
    extra = np.zeros((4, 5))
    extra[0, [0, 1]] = 0.3
    effect = treatment_effect(IDS, INDEX, _base(), extra)
    assert effect["already_certain"] == ["a"] and not effect["can_matter"]
    assert effect["summary"].startswith("the treatment cannot matter")
    none = treatment_effect(IDS, INDEX, _base(), np.zeros((4, 5)))
    assert none["treated_towers"] == 0 and "no tower" in none["summary"]


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        treatment_effect(IDS, INDEX, _base(), np.zeros((4, 4)))
