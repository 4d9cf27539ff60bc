"""Tests of geo.forecast.skill against scikit-learn and textbook values."""

from __future__ import annotations

import doctest
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn import metrics

from geo.errors import InvalidParameter
from geo.forecast import skill
from geo.forecast.skill import (
    Disagreement,
    brier_score,
    brier_skill_score,
    matthews_corrcoef,
    pontius_disagreement,
    reliability,
    roc_auc,
    skill_report,
)

SEEDS = [0, 1, 7, 42, 2026]


def random_case(seed: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 1.0, n)
    o = (rng.uniform(0.0, 1.0, n) < p).astype(int)
    return p, o


# ----------------------------------------------------------------- agreement with sklearn


@pytest.mark.parametrize("seed", SEEDS)
def test_brier_matches_sklearn(seed: int) -> None:
    p, o = random_case(seed)
    assert brier_score(p, o) == pytest.approx(metrics.brier_score_loss(o, p), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_auc_matches_sklearn(seed: int) -> None:
    p, o = random_case(seed)
    assert roc_auc(p, o) == pytest.approx(metrics.roc_auc_score(o, p), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("levels", [2, 3, 5, 11])
def test_auc_with_ties_matches_sklearn(seed: int, levels: int) -> None:
    p, o = random_case(seed)
    p_tied = np.round(p * (levels - 1)) / (levels - 1)
    assert len(np.unique(p_tied)) <= levels
    assert roc_auc(p_tied, o) == pytest.approx(metrics.roc_auc_score(o, p_tied), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_mcc_matches_sklearn(seed: int, threshold: float) -> None:
    p, o = random_case(seed)
    predicted = p >= threshold
    expected = metrics.matthews_corrcoef(o.astype(bool), predicted)
    assert matthews_corrcoef(predicted, o) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("predicted", "observed"),
    [
        ([1, 1, 1, 1], [1, 0, 1, 0]),
        ([0, 0, 0, 0], [1, 0, 1, 0]),
        ([1, 0, 1, 0], [0, 0, 0, 0]),
        ([1, 1, 1], [1, 1, 1]),
    ],
)
def test_mcc_zero_when_undefined_like_sklearn(predicted: list[int], observed: list[int]) -> None:
    assert matthews_corrcoef(predicted, observed) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sklearn warns on a single label
        assert metrics.matthews_corrcoef(observed, predicted) == 0.0


def test_accuracy_matches_total_disagreement() -> None:
    p, o = random_case(3)
    predicted = p >= 0.5
    d = pontius_disagreement(predicted, o)
    assert d.total == pytest.approx(1.0 - metrics.accuracy_score(o, predicted))


# ----------------------------------------------------------------- textbook values


OUTCOMES = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])


def test_perfect_forecast() -> None:
    p = OUTCOMES.astype(float)
    assert brier_score(p, OUTCOMES) == 0.0
    assert brier_skill_score(p, OUTCOMES, np.full(OUTCOMES.shape, 0.5)) == 1.0
    assert roc_auc(p, OUTCOMES) == 1.0
    assert matthews_corrcoef(p >= 0.5, OUTCOMES) == 1.0


def test_inverted_forecast() -> None:
    p = 1.0 - OUTCOMES
    assert brier_score(p, OUTCOMES) == 1.0
    assert roc_auc(p, OUTCOMES) == 0.0
    assert matthews_corrcoef(p >= 0.5, OUTCOMES) == -1.0
    assert pontius_disagreement(p >= 0.5, OUTCOMES).total == 1.0


def test_climatology_forecast_has_no_skill() -> None:
    base_rate = OUTCOMES.mean()
    p = np.full(OUTCOMES.shape, base_rate)
    assert brier_score(p, OUTCOMES) == pytest.approx(base_rate * (1 - base_rate))
    assert brier_skill_score(p, OUTCOMES, p) == pytest.approx(0.0)
    assert roc_auc(p, OUTCOMES) == 0.5


def test_bss_against_climatology_reference() -> None:
    p = np.where(OUTCOMES == 1, 0.8, 0.2)
    climatology = np.full(OUTCOMES.shape, OUTCOMES.mean())
    expected = 1.0 - 0.04 / 0.25
    assert brier_skill_score(p, OUTCOMES, climatology) == pytest.approx(expected)


def test_bss_negative_when_worse_than_reference() -> None:
    assert brier_skill_score(
        1.0 - OUTCOMES, OUTCOMES, np.full(OUTCOMES.shape, 0.5)
    ) == pytest.approx(-3.0)


def test_bss_undefined_when_reference_perfect() -> None:
    with pytest.raises(InvalidParameter) as info:
        brier_skill_score(np.full(OUTCOMES.shape, 0.5), OUTCOMES, OUTCOMES.astype(float))
    assert info.value.field == "reference_p"


def test_brier_hand_value() -> None:
    assert brier_score([0.0, 1.0, 0.5, 0.9], [0, 1, 1, 0]) == pytest.approx((0.25 + 0.81) / 4)


def test_brier_accepts_bool_outcomes_and_2d_shape() -> None:
    p = np.array([[0.1, 0.9], [0.7, 0.2]])
    o = np.array([[False, True], [True, True]])
    assert brier_score(p, o) == pytest.approx((0.01 + 0.01 + 0.09 + 0.64) / 4)


def test_auc_hand_value_with_ties() -> None:
    # Pairs (event, non-event): (0.5, 0.5) tie = 0.5, (0.5, 0.1) = 1, (0.9, 0.5) = 1, (0.9, 0.1) = 1
    assert roc_auc([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0]) == pytest.approx(3.5 / 4)


# ----------------------------------------------------------------- reliability


def test_reliability_of_calibrated_forecast_is_small() -> None:
    rng = np.random.default_rng(11)
    p = rng.uniform(0.0, 1.0, 200_000)
    o = rng.uniform(0.0, 1.0, p.size) < p
    curve = reliability(p, o)
    assert curve.max_gap is not None
    assert curve.max_gap < 0.05
    assert curve.count.sum() == p.size


@pytest.mark.parametrize("bias", [0.2, -0.2])
def test_reliability_of_biased_forecast_is_large(bias: float) -> None:
    rng = np.random.default_rng(12)
    truth = rng.uniform(0.25, 0.75, 100_000)
    o = rng.uniform(0.0, 1.0, truth.size) < truth
    curve = reliability(truth + bias, o)
    assert curve.max_gap is not None
    assert curve.max_gap > 0.15


def test_reliability_bins_by_hand() -> None:
    p = [0.05, 0.15, 0.15, 1.0, 0.95]
    o = [0, 1, 0, 1, 1]
    curve = reliability(p, o, n_bins=10, min_count=2)
    np.testing.assert_allclose(curve.edges, np.linspace(0, 1, 11))
    assert curve.count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert curve.mean_forecast[1] == pytest.approx(0.15)
    assert curve.observed_frequency[1] == pytest.approx(0.5)
    assert curve.observed_frequency[9] == 1.0
    assert math.isnan(curve.mean_forecast[5])
    # bin 0 (gap 0.05) has count 1 < min_count; bins 1 (gap 0.35) and 9 (gap 0.025) count
    assert curve.max_gap == pytest.approx(0.35)


def test_reliability_max_gap_none_without_enough_samples() -> None:
    curve = reliability([0.1, 0.9], [0, 1], min_count=20)
    assert curve.max_gap is None


def test_reliability_arrays_are_read_only() -> None:
    curve = reliability([0.1, 0.9], [0, 1])
    with pytest.raises(ValueError):
        curve.count[0] = 5


# ----------------------------------------------------------------- Pontius


def test_pontius_hand_example() -> None:
    # 10 cells. predicted: 4 positives, observed: 3 positives.
    predicted = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    observed = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    # tp=2, fp=2, fn=1, tn=5 -> quantity |0.4-0.3| = 0.1, allocation 2*min(0.2,0.1) = 0.2
    d = pontius_disagreement(predicted, observed)
    assert d.quantity == pytest.approx(0.1)
    assert d.allocation == pytest.approx(0.2)
    assert d.total == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("predicted", "observed", "expected"),
    [
        ([1, 1, 0, 0], [1, 1, 0, 0], Disagreement(0.0, 0.0, 0.0)),
        ([1, 1, 1, 1], [1, 0, 0, 0], Disagreement(0.75, 0.0, 0.75)),
        ([1, 0, 0, 0], [0, 1, 0, 0], Disagreement(0.0, 0.5, 0.5)),
        ([1, 1, 0, 0], [1, 0, 1, 1], Disagreement(0.25, 0.5, 0.75)),
    ],
)
def test_pontius_small_cases(
    predicted: list[int], observed: list[int], expected: Disagreement
) -> None:
    d = pontius_disagreement(predicted, observed)
    assert d.quantity == pytest.approx(expected.quantity)
    assert d.allocation == pytest.approx(expected.allocation)
    assert d.total == pytest.approx(expected.total)


@pytest.mark.parametrize("seed", SEEDS)
def test_pontius_components_sum_to_total(seed: int) -> None:
    p, o = random_case(seed)
    d = pontius_disagreement(p >= 0.4, o)
    assert d.quantity + d.allocation == pytest.approx(d.total)


# ----------------------------------------------------------------- validation


P_OK = [0.1, 0.9, 0.5]
O_OK = [0, 1, 1]


@pytest.mark.parametrize(
    ("p", "o", "field"),
    [
        ([0.1, float("nan"), 0.5], O_OK, "p"),
        ([0.1, float("inf"), 0.5], O_OK, "p"),
        ([0.1, 1.2, 0.5], O_OK, "p"),
        ([-0.1, 0.9, 0.5], O_OK, "p"),
        ([], [], "p"),
        (["a", "b", "c"], O_OK, "p"),
        (P_OK, [0, 1], "o"),
        (P_OK, [0, 2, 1], "o"),
        (P_OK, [0, 0.5, 1], "o"),
        (P_OK, [0, float("nan"), 1], "o"),
        (P_OK, [[0, 1, 1]], "o"),
    ],
)
@pytest.mark.parametrize("func", [brier_score, roc_auc, reliability])
def test_invalid_forecast_inputs(func, p, o, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameter) as info:
        func(p, o)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("reference", "field"),
    [
        ([0.1, 0.2], "reference_p"),
        ([0.1, 2.0, 0.3], "reference_p"),
        ([0.1, 0.2, np.nan], "reference_p"),
    ],
)
def test_invalid_reference(reference: list[float], field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        brier_skill_score(P_OK, O_OK, reference)
    assert info.value.field == field


@pytest.mark.parametrize("o", [[0, 0, 0], [1, 1, 1]])
def test_auc_single_class_raises(o: list[int]) -> None:
    with pytest.raises(InvalidParameter) as info:
        roc_auc(P_OK, o)
    assert info.value.field == "o"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"n_bins": True}, "n_bins"),
        ({"min_count": 0}, "min_count"),
        ({"min_count": -3}, "min_count"),
    ],
)
def test_reliability_invalid_options(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        reliability(P_OK, O_OK, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(
    ("predicted", "observed", "field"),
    [
        ([1, 0, 2], [1, 0, 1], "predicted"),
        ([1, 0, 1], [1, 0, 0.5], "observed"),
        ([1, 0, 1], [1, 0], "observed"),
        ([], [], "predicted"),
    ],
)
@pytest.mark.parametrize("func", [pontius_disagreement, matthews_corrcoef])
def test_invalid_binary_maps(func, predicted, observed, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameter) as info:
        func(predicted, observed)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"horizon_days": -1}, "horizon_days"),
        ({"horizon_days": 1.5}, "horizon_days"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"persistence_p": [0, 1]}, "persistence_p"),
        ({"persistence_p": [0, 1, 3]}, "persistence_p"),
        ({"o": [0, 1, 5]}, "o"),
        ({"p": [0, 1, -1]}, "p"),
    ],
)
def test_skill_report_invalid(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "horizon_days": 3,
        "p": P_OK,
        "o": O_OK,
        "persistence_p": [0, 1, 0],
        "threshold": 0.5,
    }
    args.update(kwargs)
    with pytest.raises(InvalidParameter) as info:
        skill_report(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_error_message_does_not_echo_input() -> None:
    with pytest.raises(InvalidParameter) as info:
        brier_score([0.1, 123456.789], [0, 1])
    assert "123456" not in str(info.value)


# ----------------------------------------------------------------- report


def test_skill_report_values() -> None:
    p, o = random_case(5, n=2000)
    persistence = np.roll(o, 1).astype(float)
    report = skill_report(7, p, o, persistence, threshold=0.5)
    assert report.horizon_days == 7
    assert report.n == 2000
    assert report.brier == pytest.approx(brier_score(p, o))
    assert report.brier_persistence == pytest.approx(brier_score(persistence, o))
    assert report.bss == pytest.approx(brier_skill_score(p, o, persistence))
    assert report.auc == pytest.approx(metrics.roc_auc_score(o, p))
    assert report.reliability_max_gap == reliability(p, o).max_gap
    d = pontius_disagreement(p >= 0.5, o)
    assert (report.quantity, report.allocation) == pytest.approx((d.quantity, d.allocation))
    assert report.mcc == pytest.approx(metrics.matthews_corrcoef(o, p >= 0.5))


def test_skill_report_threshold_is_inclusive() -> None:
    report = skill_report(1, [0.5, 0.5], [1, 1], [0, 0], threshold=0.5)
    assert report.quantity == 0.0
    assert report.allocation == 0.0


def test_skill_report_undefined_scores_are_none_in_dict() -> None:
    o = [1, 1, 1]
    report = skill_report(1, [0.2, 0.4, 0.9], o, [1, 1, 1])
    assert report.bss is None
    assert report.auc is None
    assert report.reliability_max_gap is None
    data = report.to_dict()
    assert data["bss"] is None and data["auc"] is None and data["reliability_max_gap"] is None
    assert data["mcc"] == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_to_dict_is_json_safe(seed: int) -> None:
    p, o = random_case(seed, n=50)
    data = skill_report(2, p, o, np.zeros_like(p)).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert set(data) == {
        "horizon_days", "n", "brier", "brier_persistence", "bss", "auc",
        "reliability_max_gap", "quantity", "allocation", "mcc",
    }  # fmt: skip
    assert all(v is None or type(v) in (int, float) for v in data.values())


def test_to_dict_replaces_nan_with_none() -> None:
    report = skill.SkillReport(1, 3, math.nan, 0.1, math.nan, None, math.inf, 0.0, 0.0, 0.0)
    data = report.to_dict()
    assert data["brier"] is None and data["bss"] is None and data["reliability_max_gap"] is None
    json.dumps(data, allow_nan=False)


# ----------------------------------------------------------------- module hygiene


def test_docstring_examples() -> None:
    result = doctest.testmod(skill, raise_on_error=False)
    assert result.attempted >= 3
    assert result.failed == 0


def test_no_web_or_sklearn_imports() -> None:
    code = (
        "import sys, geo.forecast.skill; "
        "bad = [m for m in ('fastapi', 'starlette', 'service', 'sklearn') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_all_is_complete() -> None:
    import geo.forecast

    # The package re-exports every skill score (and other modules' names besides).
    assert set(skill.__all__) <= set(geo.forecast.__all__)
    for name in skill.__all__:
        assert getattr(geo.forecast, name) is getattr(skill, name)
