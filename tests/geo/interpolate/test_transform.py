"""The logit transform: bounds, exactness at samples, and the back-transform's moments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from geo.errors import GeoError
from geo.interpolate.transform import LogitTransform

CASES = [(-3.0, 1.0), (0.2, 2.0), (2.5, 0.3), (-6.0, 0.01), (4.0, 3.0), (0.0, 0.05)]


def quad_moments(t: LogitTransform, m: float, s: float) -> tuple[float, float]:
    """Independent: adaptive quadrature of clip(h(y), 0, 1) against the normal density."""
    pdf = stats.norm(m, s).pdf
    f1 = integrate.quad(lambda y: np.clip(t.h(y), 0, 1) * pdf(y), m - 12 * s, m + 12 * s, limit=200)
    f2 = integrate.quad(
        lambda y: np.clip(t.h(y), 0, 1) ** 2 * pdf(y), m - 12 * s, m + 12 * s, limit=200
    )
    return f1[0], f2[0] - f1[0] ** 2


@pytest.mark.parametrize("eps", [0.01, 0.1])
@pytest.mark.parametrize(("m", "s"), CASES)
def test_back_transform_matches_adaptive_quadrature(eps: float, m: float, s: float) -> None:
    t = LogitTransform(eps)
    mean, var = t.back(np.array([m]), np.array([s * s]))
    ref_mean, ref_var = quad_moments(t, m, s)
    assert mean[0] == pytest.approx(ref_mean, abs=1e-8)
    assert var[0] == pytest.approx(ref_var, abs=1e-8)


def test_back_transform_matches_monte_carlo() -> None:
    t = LogitTransform(0.05)
    rng = np.random.default_rng(3)
    for m, s in CASES:
        p = np.clip(t.h(rng.normal(m, s, 400_000)), 0.0, 1.0)
        mean, var = t.back(np.array([m]), np.array([s * s]))
        assert mean[0] == pytest.approx(p.mean(), abs=4e-3)
        assert var[0] == pytest.approx(p.var(), abs=4e-3)


def test_back_transform_stays_in_the_unit_interval() -> None:
    rng = np.random.default_rng(0)
    m, s = rng.uniform(-30, 30, 50_000), rng.uniform(0, 12, 50_000)
    mean, var = LogitTransform(0.01).back(m, s * s)
    assert mean.min() >= 0.0 and mean.max() <= 1.0
    assert var.min() >= 0.0 and var.max() <= 0.25 + 1e-12  # the largest variance on [0, 1]


def test_zero_variance_gives_the_sample_back_exactly() -> None:
    t = LogitTransform(0.02)
    p = np.array([0.0, 0.013, 0.5, 0.97, 1.0])
    mean, var = t.back(t.forward(p), np.zeros(5))
    np.testing.assert_allclose(mean, p, atol=1e-12)
    assert np.all(var == 0.0)


@pytest.mark.parametrize("bad", [[-0.1, 0.5], [0.5, 1.2]])
def test_values_outside_the_unit_interval_are_refused(bad: list[float]) -> None:
    with pytest.raises(GeoError) as err:
        LogitTransform().forward(np.array(bad))
    assert err.value.field == "values"


@pytest.mark.parametrize("eps", [0.0, 0.5, float("nan")])
def test_bad_eps_is_refused(eps: float) -> None:
    with pytest.raises(GeoError) as err:
        LogitTransform(eps)
    assert err.value.field == "eps"
