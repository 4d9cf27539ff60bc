"""Seam-free kriging: PyKrige's global answer, closed-form LOO, no seams when blended."""

from __future__ import annotations

import numpy as np
import pytest
from pykrige.ok import OrdinaryKriging

from geo.errors import GeoError
from geo.interpolate import GlobalKrigingModel, KrigingModel
from geo.interpolate.kriging import measurement_error
from geo.interpolate.variogram import Variogram
from tests.geo.interpolate.conftest import TRUE_VARIOGRAM, FloatArray, simulate
from tests.geo.interpolate.test_kriging import reference_kriging

RNG = np.random.default_rng(11)
TARGETS = np.column_stack((RNG.uniform(-10.0, 160.0, size=(300, 2)), np.zeros(300)))
Data = tuple[FloatArray, FloatArray]


@pytest.mark.parametrize(
    "variogram",
    [
        TRUE_VARIOGRAM,
        Variogram("spherical", 0.8, 45.0, 0.05),
        Variogram("gaussian", 1.0, 40.0, 0.2),
    ],
)
def test_one_global_system_equals_pykrige_with_every_sample(
    field: Data, variogram: Variogram
) -> None:
    coords, values = field
    model = GlobalKrigingModel(coords, values, np.ones(len(values)), variogram)
    assert model.n_patches == 1
    est, var = model.predict(TARGETS)
    params = {"psill": variogram.psill, "range": variogram.range_m, "nugget": variogram.nugget}
    ok = OrdinaryKriging(
        coords[:, 0],
        coords[:, 1],
        values,
        variogram_model=variogram.model,
        variogram_parameters=params,
    )
    ref, ref_var = ok.execute("points", TARGETS[:, 0], TARGETS[:, 1], backend="vectorized")
    np.testing.assert_allclose(est, ref, atol=1e-9)
    np.testing.assert_allclose(var, ref_var, atol=1e-9)


def test_measurement_error_as_the_textbook_system_with_all_samples() -> None:
    coords, values = simulate(TRUE_VARIOGRAM, n=120, seed=2)
    weights = np.random.default_rng(2).uniform(0.05, 1.0, 120)
    model = GlobalKrigingModel(coords, values[0], weights, TRUE_VARIOGRAM)
    est, var = model.predict(TARGETS[:50])
    error_var = measurement_error(weights, TRUE_VARIOGRAM.nugget)
    ref, ref_var = reference_kriging(
        coords, values[0], TRUE_VARIOGRAM, TARGETS[:50], 120, error_var
    )
    np.testing.assert_allclose(est, ref, atol=1e-9)
    np.testing.assert_allclose(var, ref_var, atol=1e-9)


def test_closed_form_leave_one_out_equals_refitting() -> None:
    coords, values = simulate(TRUE_VARIOGRAM, n=150, seed=4)
    weights = np.random.default_rng(4).uniform(0.2, 1.0, 150)
    model = GlobalKrigingModel(coords, values[0], weights, TRUE_VARIOGRAM)
    fast, fast_var = model.loo()
    for i in (0, 17, 149):
        keep = np.arange(150) != i
        alone = GlobalKrigingModel(coords[keep], values[0][keep], weights[keep], TRUE_VARIOGRAM)
        est, var = alone.predict(coords[i : i + 1])
        assert fast[i] == pytest.approx(est[0], abs=1e-9)
        # LOO variance predicts the noisy observation: kriging variance + its error
        err = measurement_error(weights[i : i + 1], TRUE_VARIOGRAM.nugget)[0]
        assert fast_var[i] == pytest.approx(var[0] + err, abs=1e-9)


def largest_jump(model: GlobalKrigingModel | KrigingModel) -> float:
    """Largest step between neighbours 2 mm apart along a transect across the field."""
    xs = np.arange(10.0, 140.0, 0.002)
    est, _ = model.predict(np.column_stack((xs, np.full(xs.size, 71.3), np.zeros(xs.size))))
    return float(np.abs(np.diff(est)).max())


def test_blended_patches_have_no_seams_and_the_moving_window_has(field: Data) -> None:
    coords, values = field
    ones = np.ones(len(values))
    exact = GlobalKrigingModel(coords, values, ones, TRUE_VARIOGRAM, max_patch=10_000)
    blended = GlobalKrigingModel(coords, values, ones, TRUE_VARIOGRAM, max_patch=100, patch_size=50)
    local = KrigingModel(coords, values, ones, TRUE_VARIOGRAM, 16)
    assert blended.n_patches == 9 and exact.n_patches == 1
    truth = largest_jump(exact)  # a continuous field: steps shrink with the spacing
    assert truth < 2e-3
    assert largest_jump(blended) < 1.5 * truth
    assert largest_jump(local) > 20 * truth  # seams: jumps that no spacing removes


def test_blended_patches_stay_close_to_the_global_solve(field: Data) -> None:
    coords, values = field
    ones = np.ones(len(values))
    exact, _ = GlobalKrigingModel(coords, values, ones, TRUE_VARIOGRAM).predict(TARGETS)
    model = GlobalKrigingModel(coords, values, ones, TRUE_VARIOGRAM, max_patch=100, patch_size=50)
    est, var = model.predict(TARGETS)
    assert np.sqrt(np.mean((est - exact) ** 2)) < 0.1 * np.std(values)
    assert np.all(var >= 0.0) and np.all(np.isfinite(var))
    loo, _ = model.loo()
    assert np.sqrt(np.mean((loo - values) ** 2)) < 1.05 * np.sqrt(
        np.mean((GlobalKrigingModel(coords, values, ones, TRUE_VARIOGRAM).loo()[0] - values) ** 2)
    )


def test_exact_at_samples_without_error(field: Data) -> None:
    coords, values = field
    est, var = GlobalKrigingModel(coords, values, np.ones(len(values)), TRUE_VARIOGRAM).predict(
        coords[:20]
    )
    np.testing.assert_allclose(est, values[:20], atol=1e-9)
    np.testing.assert_allclose(var, 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"max_patch": 1}, "max_patch"),
        ({"patch_size": 1}, "patch_size"),
        ({"overlap": 0.0}, "overlap"),
    ],
)
def test_bad_parameters_are_refused(field: Data, kwargs: dict[str, float], field_name: str) -> None:
    coords, values = field
    with pytest.raises(GeoError) as err:
        GlobalKrigingModel(coords, values, np.ones(len(values)), TRUE_VARIOGRAM, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field_name
