"""The entry point: method choice, fallbacks, grids, 3D targets, never NaN."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from pyproj import CRS

from geo.errors import GeoError, TooFewObservations, UnknownMethod
from geo.grid import GridSpec
from geo.interpolate import (
    AUTO_MARGIN,
    GlobalKrigingModel,
    IDWParams,
    InterpolationResult,
    KrigingParams,
    SampleOptions,
    Samples,
    interpolate,
)
from tests.geo.interpolate.conftest import TRUE_VARIOGRAM, FloatArray, simulate

CRS_UTM = CRS.from_epsg(32633)
ORIGIN = np.array([390_000.0, 5_820_000.0, 0.0])  # UTM-sized coordinates, as in production
SPEC = GridSpec.covering(CRS_UTM, (390_000.0, 5_820_000.0, 390_150.0, 5_820_150.0), 5.0)
REFERENCE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def samples_of(coords: FloatArray, values: FloatArray, **kwargs: Any) -> Samples:
    pts = coords + ORIGIN
    return Samples.from_arrays(
        pts[:, 0], pts[:, 1], values, z_m=pts[:, 2], reference_time=REFERENCE, **kwargs
    )


@pytest.fixture(scope="module")
def samples() -> Samples:
    coords, values = simulate(TRUE_VARIOGRAM, n=300, seed=4)
    return samples_of(coords, values[0])


def run(samples: Samples, method: str = "auto", **kwargs: Any) -> InterpolationResult:
    return interpolate(samples, SPEC, method=method, **kwargs)


@pytest.mark.parametrize("method", ["auto", "idw", "kriging"])
def test_fills_the_grid_without_nan(samples: Samples, method: str) -> None:
    result = run(samples, method)
    assert result.grid.values.shape == SPEC.shape == result.grid.variance.shape
    assert np.all(np.isfinite(result.grid.values)) and np.all(np.isfinite(result.grid.variance))
    assert np.all(result.grid.variance >= 0.0)
    assert result.n_samples == 300 and result.reference_time == REFERENCE
    assert result.method == (method if method != "auto" else result.method)
    assert result.fallback is None


def test_auto_serves_idw_only_when_clearly_better(samples: Samples) -> None:
    result = run(samples)
    assert set(result.cv) == {"idw", "kriging"}
    idw_clearly_better = result.cv["idw"].rmse < (1 - AUTO_MARGIN) * result.cv["kriging"].rmse
    assert result.method == ("idw" if idw_clearly_better else "kriging")
    assert "RMSE" in result.parameters["selection"]


def test_auto_prefers_kriging_on_a_correlated_field(samples: Samples) -> None:
    result = run(samples)
    assert result.method == "kriging" and result.parameters["solve"] == "global"
    assert result.cv["kriging"].rmse < result.cv["idw"].rmse
    # Both standard errors are prediction errors: standardized LOO errors near 1.
    for name in ("kriging", "idw"):
        msse = result.cv[name].msse
        assert msse is not None and 0.7 < msse < 1.5


def test_auto_prefers_idw_when_kriging_is_forced_into_a_poor_variogram(samples: Samples) -> None:
    # A nugget fixed at about the whole variance smooths the spatial structure away.
    result = run(samples, kriging=KrigingParams(model="spherical", nugget=1.0))
    assert result.method == "idw"
    assert result.cv["idw"].rmse < result.cv["kriging"].rmse


def test_explicit_methods_report_their_own_scores_only(samples: Samples) -> None:
    assert set(run(samples, "idw").cv) == {"idw"}
    assert set(run(samples, "kriging").cv) == {"kriging"}


@pytest.mark.parametrize("method", ["auto", "idw", "kriging"])
def test_a_constant_field_is_that_constant_with_zero_error(method: str) -> None:
    coords, _ = simulate(TRUE_VARIOGRAM, n=50, seed=1)
    result = run(samples_of(coords, np.full(50, 0.35)), method)
    assert np.all(result.grid.values == 0.35)
    assert np.all(result.grid.variance == 0.0)
    assert result.method == "idw"


def test_identical_values_with_kriging_fall_back_to_idw_and_say_so() -> None:
    coords, _ = simulate(TRUE_VARIOGRAM, n=50, seed=1)
    result = run(samples_of(coords, np.full(50, 0.35)), "kriging")
    assert result.fallback is not None
    assert "degenerate variogram" in result.fallback and "identical" in result.fallback
    assert result.fallback.endswith("used IDW")
    assert set(result.cv) == {"idw"}


def test_three_samples_give_a_field_through_the_fallback() -> None:
    coords = np.array([[0.0, 0.0, 1.5], [100.0, 20.0, 1.5], [40.0, 120.0, 1.5]])
    result = run(samples_of(coords, np.array([0.1, 0.6, 0.3])), "kriging")
    assert result.method == "idw" and result.fallback is not None
    assert np.all(np.isfinite(result.grid.values))


def test_targets_at_samples_get_their_values(samples: Samples) -> None:
    targets = np.column_stack((samples.x_m[:5], samples.y_m[:5], samples.z_m[:5]))
    for method in ("idw", "kriging"):
        result = interpolate(samples, SPEC, targets, method=method)
        np.testing.assert_allclose(result.targets_value, samples.values[:5], atol=1e-8)
        np.testing.assert_allclose(result.targets_se, 0.0, atol=1e-4)


def test_tier_targets_feel_the_vertical_scale() -> None:
    # Two layers: 0.0 at ground level, 1.0 on tiers 6 m up, on the same footprints.
    rng = np.random.default_rng(2)
    xy = rng.uniform(0.0, 150.0, size=(40, 2))
    coords = np.vstack(
        (np.column_stack((xy, np.zeros(40))), np.column_stack((xy, np.full(40, 6.0))))
    )
    values = np.r_[np.zeros(40), np.ones(40)]
    targets = np.array([[75.0, 75.0, 0.0], [75.0, 75.0, 6.0], [75.0, 75.0, 3.0]]) + ORIGIN
    for scale, expect_far_apart in ((10.0, True), (0.01, False)):
        options = SampleOptions(vertical_scale=scale)
        result = interpolate(
            samples_of(coords, values, options=options), SPEC, targets, method="idw"
        )
        low, high, middle = result.targets_value
        assert bool(high - low > 0.9) is expect_far_apart
        assert middle == pytest.approx(0.5, abs=0.05)


def test_grid_height_defaults_to_the_median_sample_height() -> None:
    coords, values = simulate(TRUE_VARIOGRAM, n=60, seed=8)
    coords[:, 2] = np.r_[np.zeros(20), np.full(40, 4.0)]
    result = run(samples_of(coords, values[0]), "idw")
    assert result.parameters["grid_height_m"] == 4.0
    chosen = run(samples_of(coords, values[0]), "idw", grid_height_m=0.0)
    assert chosen.parameters["grid_height_m"] == 0.0
    assert not np.allclose(chosen.grid.values, result.grid.values)


def test_duplicates_are_merged_before_kriging(samples: Samples) -> None:
    doubled = Samples.from_arrays(
        np.r_[samples.x_m, samples.x_m[:10]],
        np.r_[samples.y_m, samples.y_m[:10]],
        np.r_[samples.values, samples.values[:10] + 0.2],
        z_m=np.r_[samples.z_m, samples.z_m[:10]],
        reference_time=REFERENCE,
    )
    result = run(doubled, "kriging")
    assert result.n_samples == 300 and result.fallback is None
    assert np.all(np.isfinite(result.grid.values))


def test_parameters_are_json_safe_and_complete(samples: Samples) -> None:
    result = run(samples, "kriging", idw=IDWParams(k=8))
    text = json.dumps({**result.parameters, "cv": {k: v.to_dict() for k, v in result.cv.items()}})
    params = json.loads(text)
    for key in ("model", "psill", "range_m", "nugget", "vertical_scale", "grid_height_m"):
        assert key in params
    assert params["method"] == "kriging" and params["solve"] == "global"
    local = run(samples, "kriging-local").parameters
    assert local["method"] == "kriging-local" and local["k"] == 16
    idw = run(samples, "idw", idw=IDWParams(k=8, power=3.0)).parameters
    assert (idw["k"], idw["power"]) == (8, 3.0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", ["auto", "kriging"])
def test_never_nan_on_awkward_data(seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    coords = np.column_stack((rng.uniform(0, 150, (n, 2)), rng.choice([0.0, 1.5, 4.0], n)))
    values = rng.choice([0.0, 0.5, 1.0], n)  # clumped, repeated values
    weights = rng.uniform(0.01, 1.0, n)
    result = run(samples_of(coords, values, weights=weights), method)
    assert np.all(np.isfinite(result.grid.values)) and np.all(np.isfinite(result.grid.variance))


def test_unknown_methods_are_refused(samples: Samples) -> None:
    with pytest.raises(UnknownMethod) as err:
        run(samples, "splines")
    assert err.value.field == "method"


def test_malformed_targets_are_refused(samples: Samples) -> None:
    with pytest.raises(GeoError) as err:
        interpolate(samples, SPEC, np.zeros((3, 2)))
    assert err.value.field == "targets"


def test_empty_targets_are_fine(samples: Samples) -> None:
    result = interpolate(samples, SPEC, np.empty((0, 3)), method="idw")
    assert result.targets_value.shape == (0,) == result.targets_se.shape


def test_no_samples_is_too_few() -> None:
    with pytest.raises(TooFewObservations):
        run(Samples.from_arrays([], [], []))


def test_a_single_sample_gives_its_value_everywhere() -> None:
    result = run(samples_of(np.zeros((1, 3)), np.array([0.7])), "kriging")
    assert np.all(result.grid.values == 0.7) and np.all(result.grid.variance == 0.0)
    assert result.method == "idw" and result.fallback is not None


def test_kriging_that_breaks_down_numerically_is_replaced_and_said_so(
    samples: Samples, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: GlobalKrigingModel, targets: FloatArray) -> Any:
        return np.full(len(targets), np.nan), np.full(len(targets), np.nan)

    monkeypatch.setattr(GlobalKrigingModel, "predict", broken)
    result = run(samples, "kriging")
    assert result.method == "idw" and "non-finite" in (result.fallback or "")
    assert np.all(np.isfinite(result.grid.values)) and set(result.cv) == {"kriging", "idw"}


def test_auto_never_picks_a_method_whose_cross_validation_broke_down(
    samples: Samples, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: GlobalKrigingModel) -> Any:
        return np.full(len(self), np.nan), np.full(len(self), np.nan)

    monkeypatch.setattr(GlobalKrigingModel, "loo", broken)
    result = run(samples, "auto")
    assert result.method == "idw" and result.fallback is None
