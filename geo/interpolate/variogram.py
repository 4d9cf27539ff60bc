"""Semivariograms: the empirical one, three models, and a weighted least-squares fit.

Distances are in the scaled 3D coordinates of
:meth:`~geo.interpolate.samples.Samples.coords`. The models use PyKrige's
parametrization (partial sill, range, nugget) and range convention, so a
:class:`Variogram` can be handed to ``pykrige`` unchanged:

* spherical: ``psill * (1.5 h/r - 0.5 (h/r)^3) + nugget`` up to ``r``, then the sill;
* exponential: ``psill * (1 - exp(-3 h / r)) + nugget`` (``r`` is the practical range,
  where 95 % of the sill is reached);
* gaussian: ``psill * (1 - exp(-(h / (4 r / 7)) ^ 2)) + nugget``.

``gamma(0) = 0`` by definition: the nugget is a jump at the origin, as in PyKrige,
which keeps kriging with a nugget exact at the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.spatial.distance import pdist

from geo.errors import DegenerateVariogram, GeoError, UnknownMethod

__all__ = [
    "MODELS",
    "ZERO_LAG_M",
    "EmpiricalVariogram",
    "Variogram",
    "VariogramFit",
    "empirical_variogram",
    "fit_empirical_variogram",
    "fit_variogram",
]

FloatArray = NDArray[np.float64]
ModelFunction = Callable[[FloatArray, float, float, float], FloatArray]

ZERO_LAG_M = 1e-10
"""Distances up to this count as zero (PyKrige's ``eps``)."""

_MIN_LAGS = 3


def _spherical(h: FloatArray, psill: float, range_m: float, nugget: float) -> FloatArray:
    r = np.minimum(h / range_m, 1.0)
    return psill * (1.5 * r - 0.5 * r**3) + nugget


def _exponential(h: FloatArray, psill: float, range_m: float, nugget: float) -> FloatArray:
    return psill * -np.expm1(-h / (range_m / 3.0)) + nugget


def _gaussian(h: FloatArray, psill: float, range_m: float, nugget: float) -> FloatArray:
    return psill * -np.expm1(-((h / (range_m * 4.0 / 7.0)) ** 2)) + nugget


_MODEL_FUNCTIONS: Mapping[str, ModelFunction] = {
    "spherical": _spherical,
    "exponential": _exponential,
    "gaussian": _gaussian,
}
MODELS: tuple[str, ...] = tuple(_MODEL_FUNCTIONS)
"""Names of the variogram models."""


@dataclass(frozen=True, eq=False)
class EmpiricalVariogram:
    """Binned semivariances.

    Attributes
    ----------
    lags_m : ndarray
        Mean pair distance of each non-empty bin, metres (scaled 3D).
    gamma : ndarray
        Semivariance of each bin: half the mean squared difference of the pairs.
    counts : ndarray of int
        Number of pairs in each bin.
    max_lag_m : float
        Upper edge of the last bin.
    n_pairs : int
        Pairs used (all of them, or a random subset for many samples).
    """

    lags_m: FloatArray
    gamma: FloatArray
    counts: NDArray[np.int64]
    max_lag_m: float
    n_pairs: int


@dataclass(frozen=True, eq=False)
class VariogramFit:
    """How a :class:`Variogram` was fitted.

    Attributes
    ----------
    empirical : EmpiricalVariogram
    weighted_rmse : float
        Root of the weighted mean squared residual (weights ``N(h) / gamma(h)^2``,
        normalized to sum to 1): relative misfit, comparable between models.
    candidates : mapping of str to float
        ``weighted_rmse`` of every model tried (one entry unless the model was "auto").
    nugget_fixed : bool
        Whether the nugget was given rather than fitted.
    """

    empirical: EmpiricalVariogram
    weighted_rmse: float
    candidates: Mapping[str, float]
    nugget_fixed: bool


@dataclass(frozen=True)
class Variogram:
    """A semivariogram model with PyKrige's parametrization.

    Attributes
    ----------
    model : str
        One of :data:`MODELS`.
    psill : float
        Partial sill (>= 0).
    range_m : float
        Range in scaled metres (> 0); practical range for exponential.
    nugget : float
        Nugget (>= 0).
    fit : VariogramFit or None
        The fit report when made by :func:`fit_variogram` (not compared).

    Examples
    --------
    >>> v = Variogram("exponential", psill=1.0, range_m=30.0, nugget=0.1)
    >>> v(np.array([0.0, 10.0, 1e6])).round(3).tolist()
    [0.0, 0.732, 1.1]
    """

    model: str
    psill: float
    range_m: float
    nugget: float
    fit: VariogramFit | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.model not in _MODEL_FUNCTIONS:
            raise UnknownMethod(f"unknown variogram model; use one of {MODELS}", "model")
        if not (math.isfinite(self.psill) and self.psill >= 0.0):
            raise DegenerateVariogram("partial sill must be finite and >= 0", "psill")
        if not (math.isfinite(self.range_m) and self.range_m > 0.0):
            raise DegenerateVariogram("range must be finite and > 0", "range_m")
        if not (math.isfinite(self.nugget) and self.nugget >= 0.0):
            raise DegenerateVariogram("nugget must be finite and >= 0", "nugget")

    @property
    def sill(self) -> float:
        """``psill + nugget``: the semivariance far away."""
        return self.psill + self.nugget

    def __call__(self, h: npt.ArrayLike) -> FloatArray:
        """Semivariance at distances ``h`` (scaled metres); 0 at ``h <= ZERO_LAG_M``."""
        d = np.asarray(h, dtype=np.float64)
        gamma = _MODEL_FUNCTIONS[self.model](d, self.psill, self.range_m, self.nugget)
        return np.where(d <= ZERO_LAG_M, 0.0, gamma)

    def covariance(self, h: FloatArray) -> FloatArray:
        """``sill - gamma(h)``, computed in place of ``h`` (which it overwrites).

        The covariance form of kriging needs this for every target-sample pair; done
        in place it costs one pass per operation instead of a temporary each.
        """
        zero = h <= ZERO_LAG_M
        if self.model == "exponential":
            h *= -3.0 / self.range_m
            np.exp(h, out=h)
        elif self.model == "gaussian":
            h *= 7.0 / (4.0 * self.range_m)
            np.square(h, out=h)
            np.negative(h, out=h)
            np.exp(h, out=h)
        else:  # spherical: 1 - 1.5 r + 0.5 r^3 up to the range, 0 beyond
            h *= 1.0 / self.range_m
            np.minimum(h, 1.0, out=h)
            r3 = h**3
            h *= -1.5
            h += 1.0
            r3 *= 0.5
            h += r3
        h *= self.psill
        h[zero] = self.sill
        return h

    def parameters(self) -> dict[str, Any]:
        """JSON-safe parameters (and the fit's misfit when known)."""
        out: dict[str, Any] = {
            "model": self.model,
            "psill": float(self.psill),
            "range_m": float(self.range_m),
            "nugget": float(self.nugget),
            "sill": float(self.sill),
        }
        if self.fit is not None:
            out["variogram_weighted_rmse"] = float(self.fit.weighted_rmse)
            out["variogram_lags"] = len(self.fit.empirical.lags_m)
            out["nugget_fixed"] = self.fit.nugget_fixed
        return out


def empirical_variogram(
    coords: npt.ArrayLike,
    values: npt.ArrayLike,
    n_lags: int = 12,
    max_lag_m: float | None = None,
    max_pairs: int = 1_000_000,
    seed: int = 0,
) -> EmpiricalVariogram:
    """Bin half squared differences of sample pairs by distance.

    Parameters
    ----------
    coords : array_like, shape (n, d)
    values : array_like, shape (n,)
    n_lags : int
        Number of equal-width bins from 0 to ``max_lag_m``; empty bins are dropped.
    max_lag_m : float, optional
        Default: half the largest pair distance.
    max_pairs : int
        With more pairs than this, a random subset of this many pairs (drawn with
        ``seed``) is used, and the largest distance is that of the subset.
    seed : int

    Raises
    ------
    DegenerateVariogram
        With fewer than 2 samples or no pair within ``max_lag_m``.
    """
    xyz = np.asarray(coords, dtype=np.float64)
    z = np.asarray(values, dtype=np.float64)
    n = len(z)
    if n_lags < 1:
        raise GeoError("must be at least 1", "n_lags")
    if n < 2:
        raise DegenerateVariogram("a variogram needs at least 2 samples", "samples")
    if n * (n - 1) // 2 <= max_pairs:
        dist = pdist(xyz)
        sq = pdist(z[:, None], "sqeuclidean")
    else:
        rng = np.random.default_rng(seed)
        i, j = rng.integers(0, n, size=(2, max_pairs))
        i, j = i[i != j], j[i != j]
        dist = np.sqrt(((xyz[i] - xyz[j]) ** 2).sum(axis=1))
        sq = (z[i] - z[j]) ** 2
    top = 0.5 * float(dist.max()) if max_lag_m is None else float(max_lag_m)
    if not top > 0.0:
        raise DegenerateVariogram("all samples are at the same place", "samples")
    inside = dist <= top
    bins = np.minimum((dist[inside] / (top / n_lags)).astype(np.intp), n_lags - 1)
    counts = np.bincount(bins, minlength=n_lags)
    if not counts.any():
        raise DegenerateVariogram("no pair of samples within the largest lag", "samples")
    full = counts > 0
    lag_sum = np.bincount(bins, weights=dist[inside], minlength=n_lags)
    sq_sum = np.bincount(bins, weights=sq[inside], minlength=n_lags)
    return EmpiricalVariogram(
        lags_m=lag_sum[full] / counts[full],
        gamma=0.5 * sq_sum[full] / counts[full],
        counts=counts[full].astype(np.int64),
        max_lag_m=top,
        n_pairs=int(dist.size),
    )


def fit_variogram(
    coords: npt.ArrayLike,
    values: npt.ArrayLike,
    model: str = "auto",
    n_lags: int = 12,
    nugget: float | None = None,
    max_lag_m: float | None = None,
    max_pairs: int = 1_000_000,
    seed: int = 0,
) -> Variogram:
    """Fit a variogram model to the empirical semivariogram by weighted least squares.

    The residual of each lag is weighted by ``N(h) / gamma_hat(h)^2`` (Cressie's
    weights with the empirical semivariance in the denominator, so that the weights do
    not depend on the parameters and misfits compare across models): well-populated,
    short lags count most. Several starting ranges are tried
    (:func:`scipy.optimize.least_squares`, ``dogbox``: rectangular bounds, parameters
    on a bound, such as a zero nugget, are reached exactly).

    Parameters
    ----------
    coords, values, n_lags, max_lag_m, max_pairs, seed
        As for :func:`empirical_variogram`.
    model : str
        One of :data:`MODELS`, or ``"auto"`` for the model with the lowest weighted
        residual.
    nugget : float, optional
        Fixed nugget; fitted (>= 0) when None.

    Raises
    ------
    UnknownMethod
        For an unknown model name.
    DegenerateVariogram
        If the values are all identical, fewer than 3 lags are non-empty, every fit
        fails, or the fitted partial sill is zero (no spatial structure).
    """
    z = np.asarray(values, dtype=np.float64)
    if z.size and float(np.ptp(z)) == 0.0:
        raise DegenerateVariogram("all values are identical", "values")
    _check_model(model)
    emp = empirical_variogram(coords, z, n_lags, max_lag_m, max_pairs, seed)
    return fit_empirical_variogram(emp, model, nugget)


def fit_empirical_variogram(
    empirical: EmpiricalVariogram, model: str = "auto", nugget: float | None = None
) -> Variogram:
    """Fit a model to an empirical variogram; see :func:`fit_variogram`.

    Raises
    ------
    UnknownMethod
        For an unknown model name.
    DegenerateVariogram
        If fewer than 3 lags are given, every fit fails, or the fitted partial sill
        is zero.
    """
    _check_model(model)
    if nugget is not None and not (math.isfinite(nugget) and nugget >= 0.0):
        raise DegenerateVariogram("a fixed nugget must be finite and >= 0", "nugget")
    emp = empirical
    if len(emp.lags_m) < _MIN_LAGS:
        raise DegenerateVariogram(
            f"only {len(emp.lags_m)} non-empty lags; need at least {_MIN_LAGS}", "samples"
        )
    if not float(emp.gamma.max()) > 0.0:
        raise DegenerateVariogram("all semivariances are zero", "values")
    names = MODELS if model == "auto" else (model,)
    fits = {name: _fit_model(emp, name, nugget) for name in names}
    usable = {name: f for name, f in fits.items() if f is not None}
    if not usable:
        raise DegenerateVariogram("the variogram fit did not converge", "samples")
    best = min(usable, key=lambda name: usable[name][1])
    (psill, range_m, fitted_nugget), rmse = usable[best]
    if not psill > 1e-9 * float(emp.gamma.max()):
        raise DegenerateVariogram("the fitted partial sill is zero: no spatial structure")
    report = VariogramFit(
        empirical=emp,
        weighted_rmse=rmse,
        candidates={name: f[1] for name, f in usable.items()},
        nugget_fixed=nugget is not None,
    )
    return Variogram(best, psill, range_m, fitted_nugget, fit=report)


def _check_model(model: str) -> None:
    if model != "auto" and model not in _MODEL_FUNCTIONS:
        raise UnknownMethod(f"unknown variogram model; use auto or one of {MODELS}", "model")


def _fit_model(
    emp: EmpiricalVariogram, model: str, nugget: float | None
) -> tuple[tuple[float, float, float], float] | None:
    """Best (psill, range, nugget) and weighted RMSE over a few starts, or None.

    The parameter vector is (psill, range) with a fixed nugget, else (psill, range,
    nugget).
    """
    func = _MODEL_FUNCTIONS[model]
    h, g = emp.lags_m, emp.gamma
    gmax, hmax = float(g.max()), float(emp.max_lag_m)
    sqrt_w = np.sqrt(emp.counts) / np.maximum(g, max(gmax * 1e-6, 1e-300))
    sqrt_w /= math.sqrt(float((sqrt_w**2).sum()))

    def unpack(p: FloatArray) -> tuple[float, float, float]:
        return float(p[0]), float(p[1]), float(p[2]) if nugget is None else nugget

    def residuals(p: FloatArray) -> FloatArray:
        return sqrt_w * (func(h, *unpack(p)) - g)

    nugget0 = min(float(g.min()), 0.5 * gmax) if nugget is None else nugget
    psill0 = max(gmax - nugget0, 0.1 * gmax)
    lower, upper = [0.0, 1e-3 * hmax], [10.0 * gmax, 4.0 * hmax]
    if nugget is None:
        lower.append(0.0)
        upper.append(gmax)
    best: tuple[tuple[float, float, float], float] | None = None
    for fraction in (0.25, 0.6, 1.2):
        x0 = np.array([psill0, fraction * hmax, nugget0][: len(lower)])
        try:
            res = least_squares(residuals, x0, bounds=(lower, upper), method="dogbox")
        except (ValueError, np.linalg.LinAlgError):
            continue
        if not (res.success and np.all(np.isfinite(res.x))):
            continue
        rmse = float(np.sqrt(2.0 * res.cost))
        if best is None or rmse < best[1]:
            best = (unpack(res.x), rmse)
    return best
