"""Variogram models (against PyKrige), the empirical variogram, and the fit."""

from __future__ import annotations

import numpy as np
import pytest
from pykrige import variogram_models
from scipy.spatial.distance import pdist

from geo.errors import DegenerateVariogram, UnknownMethod
from geo.interpolate.variogram import (
    MODELS,
    EmpiricalVariogram,
    Variogram,
    empirical_variogram,
    fit_empirical_variogram,
    fit_variogram,
)
from tests.geo.interpolate.conftest import TRUE_VARIOGRAM, FloatArray, simulate

PYKRIGE = {
    "spherical": variogram_models.spherical_variogram_model,
    "exponential": variogram_models.exponential_variogram_model,
    "gaussian": variogram_models.gaussian_variogram_model,
}
H = np.concatenate((np.linspace(1e-6, 5.0, 50), np.linspace(5.0, 400.0, 200)))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("psill", "range_m", "nugget"), [(1.0, 30.0, 0.0), (0.4, 120.0, 0.05), (2.5, 7.0, 1.0)]
)
def test_models_match_pykrige(model: str, psill: float, range_m: float, nugget: float) -> None:
    ours = Variogram(model, psill, range_m, nugget)(H)
    theirs = PYKRIGE[model]([psill, range_m, nugget], H)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("model", MODELS)
def test_gamma_is_zero_at_zero_and_reaches_the_sill(model: str) -> None:
    v = Variogram(model, 0.8, 50.0, 0.2)
    assert v(0.0) == 0.0
    assert v(1e-3) == pytest.approx(0.2, abs=1e-3)  # the nugget is a jump at the origin
    assert v(1e5) == pytest.approx(v.sill) == pytest.approx(1.0)
    assert np.all(np.diff(v(H)) >= 0.0)


@pytest.mark.parametrize(
    ("model", "psill", "range_m", "nugget"),
    [("cubic", 1.0, 1.0, 0.0), ("spherical", -1.0, 1.0, 0.0), ("spherical", 1.0, 0.0, 0.0)],
)
def test_variogram_parameters_are_checked(
    model: str, psill: float, range_m: float, nugget: float
) -> None:
    with pytest.raises((UnknownMethod, DegenerateVariogram)):
        Variogram(model, psill, range_m, nugget)


def brute_force_empirical(
    coords: FloatArray, values: FloatArray, n_lags: int, top: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    width = top / n_lags
    sums, counts, dists = np.zeros(n_lags), np.zeros(n_lags), np.zeros(n_lags)
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            d = float(np.linalg.norm(coords[i] - coords[j]))
            if d <= top:
                b = min(int(d / width), n_lags - 1)
                sums[b] += 0.5 * (values[i] - values[j]) ** 2
                counts[b] += 1
                dists[b] += d
    full = counts > 0
    return dists[full] / counts[full], sums[full] / counts[full], counts[full]


def test_empirical_variogram_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(3)
    coords = rng.uniform(0, 50, size=(40, 3))
    values = rng.normal(size=40)
    emp = empirical_variogram(coords, values, n_lags=7)
    top = 0.5 * pdist(coords).max()
    lags, gamma, counts = brute_force_empirical(coords, values, 7, top)
    assert emp.max_lag_m == pytest.approx(top)
    np.testing.assert_allclose(emp.lags_m, lags)
    np.testing.assert_allclose(emp.gamma, gamma)
    np.testing.assert_array_equal(emp.counts, counts)
    assert emp.n_pairs == 40 * 39 // 2


def test_many_pairs_are_subsampled_with_a_seed(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    full = empirical_variogram(coords, values, n_lags=8, max_lag_m=60.0)
    a = empirical_variogram(coords, values, n_lags=8, max_lag_m=60.0, max_pairs=20_000, seed=1)
    b = empirical_variogram(coords, values, n_lags=8, max_lag_m=60.0, max_pairs=20_000, seed=1)
    assert a.n_pairs < 20_000 < full.n_pairs
    np.testing.assert_array_equal(a.gamma, b.gamma)
    np.testing.assert_allclose(a.gamma, full.gamma, rtol=0.15)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("nugget", [0.0, 0.15])
def test_fit_recovers_a_model_from_its_own_curve(model: str, nugget: float) -> None:
    truth = Variogram(model, 0.9, 40.0, nugget)
    lags = np.linspace(4.0, 100.0, 12)
    emp = EmpiricalVariogram(lags, truth(lags), np.full(12, 200), 100.0, 2400)
    fitted = fit_empirical_variogram(emp, model)
    assert (fitted.psill, fitted.range_m, fitted.nugget) == pytest.approx(
        (0.9, 40.0, nugget), abs=1e-4
    )
    assert fitted.fit is not None and fitted.fit.weighted_rmse < 1e-6


def test_fit_recovers_the_parameters_of_simulated_fields() -> None:
    # One realization on 150 m x 150 m says little about a 30 m range; the median
    # of 10 independent ones (same 400 points) is a fair test of the estimator.
    coords, fields = simulate(TRUE_VARIOGRAM, realizations=10, seed=3)
    fits = [fit_variogram(coords, f, "exponential", n_lags=16, max_lag_m=75.0) for f in fields]
    psill, range_m, nugget, sill = np.median(
        [(f.psill, f.range_m, f.nugget, f.sill) for f in fits], axis=0
    )
    assert sill == pytest.approx(TRUE_VARIOGRAM.sill, rel=0.15)
    assert range_m == pytest.approx(TRUE_VARIOGRAM.range_m, rel=0.25)
    assert psill == pytest.approx(TRUE_VARIOGRAM.psill, rel=0.2)
    assert nugget == pytest.approx(TRUE_VARIOGRAM.nugget, abs=0.1)


def test_a_fixed_nugget_is_kept(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    fitted = fit_variogram(coords, values, "exponential", nugget=0.1, max_lag_m=75.0)
    assert fitted.nugget == 0.1
    assert fitted.fit is not None and fitted.fit.nugget_fixed


def test_auto_picks_the_lowest_weighted_residual(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    fitted = fit_variogram(coords, values, "auto")
    assert fitted.fit is not None
    assert set(fitted.fit.candidates) == set(MODELS)
    assert fitted.fit.weighted_rmse == min(fitted.fit.candidates.values())
    assert fitted.fit.candidates[fitted.model] == fitted.fit.weighted_rmse
    for model in MODELS:
        single = fit_variogram(coords, values, model)
        assert single.fit is not None
        assert single.fit.weighted_rmse >= fitted.fit.weighted_rmse


def test_identical_values_are_degenerate(field: tuple[FloatArray, FloatArray]) -> None:
    coords, _ = field
    with pytest.raises(DegenerateVariogram, match="identical"):
        fit_variogram(coords, np.full(len(coords), 0.3))


def test_too_few_lags_are_degenerate() -> None:
    coords = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [20.0, 0.0, 0.0]])
    with pytest.raises(DegenerateVariogram, match="lags"):
        fit_variogram(coords, [0.1, 0.5, 0.2])


def test_a_zero_partial_sill_is_degenerate(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    with pytest.raises(DegenerateVariogram, match="partial sill"):
        fit_variogram(coords, values, "spherical", nugget=50.0)


def test_unknown_models_are_refused(field: tuple[FloatArray, FloatArray]) -> None:
    coords, values = field
    with pytest.raises(UnknownMethod) as err:
        fit_variogram(coords, values, "matern")
    assert err.value.field == "model"
