"""The forecast on outbreak worlds it has never seen (a fixed set of four worlds).

The full report over 30+ worlds is ``bench/bench_forecast_worlds.py``; here the same
pipeline runs on worlds 0-3 (consecutive seeds, not picked) with a small budget.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from tests.worlds.harness import HORIZONS, WorldScore, crps_from_quantiles, forecast_world
from tests.worlds.simulator import make_world

SEEDS = (0, 1, 2, 3)
BUDGET = {
    "forecast_calibration_simulations": 60,
    "forecast_skill_runs": 30,
    "forecast_skill_horizons": (1, 3, 7),
}


@pytest.fixture(scope="module")
def scores() -> list[WorldScore]:
    return [forecast_world(make_world(s), runs=60, settings=BUDGET) for s in SEEDS]


def test_the_simulator_shares_no_code_with_the_demo_or_the_model() -> None:
    for path in Path(__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                banned = ("geo.demo", "geo.forecast", "service.demo")
                assert not node.module.startswith(banned), (path.name, node.module)


def test_worlds_are_reproducible_and_varied() -> None:
    a, b = make_world(5), make_world(5)
    np.testing.assert_array_equal(a.truth, b.truth)
    assert [o.intensity for o in a.observations] == [o.intensity for o in b.observations]
    kinds = {
        (make_world(s).description["kernel"], make_world(s).description["growth"]) for s in range(8)
    }
    assert len(kinds) >= 3  # power-law and gravity kernels, Gompertz and linear growth


def test_crps_of_a_point_forecast_is_the_absolute_error() -> None:
    levels = np.arange(1, 20) * 0.05
    assert crps_from_quantiles(levels, np.full(19, 10.0), 13.0) == pytest.approx(3.0)
    assert crps_from_quantiles(levels, np.full(19, 10.0), 10.0) == 0.0


def test_the_forecast_beats_persistence_pooled(scores: list[WorldScore]) -> None:
    for h in (3, 7):
        brier = sum(s.brier[h] for s in scores)
        reference = sum(s.brier_persistence[h] for s in scores)
        assert 1.0 - brier / reference >= 0.2, h
    for s in scores:
        assert s.skill(3) is None or s.skill(3) > 0.0, s.seed


def test_probabilities_are_probabilistic_and_bands_cover(scores: list[WorldScore]) -> None:
    p = np.concatenate([s.probability[7] for s in scores])
    assert np.mean((p > 0.05) & (p < 0.95)) > 0.05  # not only 0 and 1
    for h in (1, 3):
        assert sum(s.covered[h] for s in scores) >= 3, h


def test_the_result_says_what_it_serves(scores: list[WorldScore]) -> None:
    for s in scores:
        days = {d["day"]: d for d in s.served}
        assert set(days) == set(range(1, max(HORIZONS) + 1))
        assert days[7]["verified"] and not days[14]["verified"]
        assert days[1]["serves"] in ("spread", "growth", "persistence", "blend")
        assert "Brier" in days[1]["reason"]
        assert s.ppc is not None and 0.0 <= s.ppc["blighted"]["inside_90"] <= 1.0
