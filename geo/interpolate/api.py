"""The public entry point: samples in, a field on a grid (and at tiers) out.

:func:`interpolate` merges coinciding samples, builds the requested method (or both,
for ``"auto"``), scores them by leave-one-out cross-validation and evaluates the
chosen one on the grid, at ``grid_height_m`` above ground, and at extra 3D targets
(the tiers of the towers).

Methods: ``"kriging"`` is the seam-free ordinary kriging
(:mod:`~geo.interpolate.global_kriging`), of logits when the values are intensities
(:mod:`~geo.interpolate.transform`), so the field stays within [0, 1];
``"kriging-local"`` the moving-neighbourhood kriging of :mod:`~geo.interpolate.kriging`
(fast, but with seams where neighbourhoods change); ``"idw"`` inverse distance
weighting, whose standard error is the estimation variance of its weights under a
variogram fitted to the values (or, without a usable variogram, its leave-one-out
RMSE). ``"auto"`` serves kriging unless IDW's leave-one-out RMSE is lower by more than
:data:`AUTO_MARGIN`: a dead band, so that one new observation does not flip the method
when the two are close.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from geo.errors import DegenerateVariogram, GeoError, TooFewObservations, UnknownMethod
from geo.grid import Grid, GridSpec
from geo.interpolate.base import Interpolator
from geo.interpolate.global_kriging import GlobalKrigingModel
from geo.interpolate.idw import IDWModel, IDWParams
from geo.interpolate.kriging import KrigingModel, KrigingParams
from geo.interpolate.samples import Samples, aggregate_duplicates
from geo.interpolate.transform import EPS_CANDIDATES, LogitTransform, TransformedModel
from geo.interpolate.validate import CVScores, leave_one_out
from geo.interpolate.variogram import Variogram, fit_variogram

__all__ = ["AUTO_MARGIN", "METHODS", "InterpolationResult", "interpolate"]

FloatArray = NDArray[np.float64]
Builder = Callable[[FloatArray, FloatArray, FloatArray, IDWParams, KrigingParams], Interpolator]

AUTO_MARGIN = 0.1
"""``auto`` serves IDW only if its LOO RMSE is this fraction below kriging's."""


def _build_idw(
    coords: FloatArray, values: FloatArray, weights: FloatArray, idw: IDWParams, p: KrigingParams
) -> IDWModel:
    """IDW on the values as they are (a convex blend stays in their range), with the
    estimation variance under a variogram of those values when one can be fitted."""
    try:
        variogram: Variogram | None = _fit(coords, values, p)
    except DegenerateVariogram:
        variogram = None
    return IDWModel(coords, values, weights, idw, variogram)


def _fit(coords: FloatArray, values: FloatArray, p: KrigingParams) -> Variogram:
    return fit_variogram(coords, values, p.model, n_lags=p.n_lags, nugget=p.nugget)


def _logit(values: FloatArray, p: KrigingParams) -> bool:
    return p.transform == "logit" or (p.transform == "auto" and LogitTransform.applies_to(values))


def _kriged(
    make: Callable[[FloatArray, Variogram], Interpolator],
    coords: FloatArray,
    values: FloatArray,
    p: KrigingParams,
) -> Interpolator:
    """``make(values, variogram)``, on logits when the values are intensities.

    Without a given ``logit_eps`` every candidate is fitted and the one with the lowest
    leave-one-out RMSE of the back-transformed predictions is kept.
    """
    if not _logit(values, p):
        return make(values, _fit(coords, values, p))
    best: tuple[float, Interpolator] | None = None
    failure: DegenerateVariogram | None = None
    for eps in EPS_CANDIDATES if p.logit_eps is None else (p.logit_eps,):
        transform = LogitTransform(eps)
        y = transform.forward(values)
        try:
            model = TransformedModel(make(y, _fit(coords, y, p)), values, transform)
        except DegenerateVariogram as exc:
            failure = exc
            continue
        est, _ = model.loo() if len(values) >= 2 else (values, None)
        rmse = _finite_or_inf(float(np.sqrt(np.mean((est - values) ** 2))))
        if best is None or rmse < best[0]:
            best = (rmse, model)
    if best is None:
        assert failure is not None
        raise failure
    return best[1]


def _build_kriging(
    coords: FloatArray, values: FloatArray, weights: FloatArray, _: IDWParams, p: KrigingParams
) -> Interpolator:
    """Seam-free kriging, of logits for intensities."""

    def make(y: FloatArray, variogram: Variogram) -> Interpolator:
        return GlobalKrigingModel(coords, y, weights, variogram, p.max_patch)

    return _kriged(make, coords, values, p)


def _build_local_kriging(
    coords: FloatArray, values: FloatArray, weights: FloatArray, _: IDWParams, p: KrigingParams
) -> Interpolator:
    """Moving-neighbourhood kriging (``k`` nearest), of logits for intensities."""

    def make(y: FloatArray, variogram: Variogram) -> Interpolator:
        return KrigingModel(coords, y, weights, variogram, p.k)

    return _kriged(make, coords, values, p)


_BUILDERS: Mapping[str, Builder] = {
    "kriging": _build_kriging,
    "idw": _build_idw,
    "kriging-local": _build_local_kriging,
}
METHODS: tuple[str, ...] = tuple(_BUILDERS)
"""Names of the interpolation methods (``"auto"`` chooses between kriging and IDW)."""
_AUTO = ("kriging", "idw")

DEFAULT_IDW = IDWParams()
DEFAULT_KRIGING = KrigingParams()


@dataclass(frozen=True)
class InterpolationResult:
    """A field and how it was made.

    Attributes
    ----------
    grid : Grid
        Values and variance on the grid given: the prediction variance of the method
        served (see the module docstring), on the values' scale.
    targets_value, targets_se : ndarray
        Value and standard error at the extra 3D targets, in their order.
    method : str
        One of :data:`METHODS`.
    parameters : mapping
        JSON-safe: ``k``, ``power`` or the variogram (``model``, ``psill``,
        ``range_m``, ``nugget``, ``sill``...), ``vertical_scale``, ``grid_height_m``,
        ``n_samples`` and ``selection`` (which method and why).
    cv : mapping of str to CVScores
        Leave-one-out scores of every method evaluated.
    fallback : str or None
        Why a requested method was replaced, e.g. ``"degenerate variogram: all values
        are identical; used IDW"``.
    n_samples : int
        Samples used (after merging coinciding ones).
    reference_time : datetime
        The samples' reference time.
    """

    grid: Grid
    targets_value: FloatArray
    targets_se: FloatArray
    method: str
    parameters: Mapping[str, Any]
    cv: Mapping[str, CVScores]
    fallback: str | None
    n_samples: int
    reference_time: datetime


@dataclass(frozen=True)
class _Choice:
    model: Interpolator
    cv: dict[str, CVScores]
    fallback: str | None
    selection: str


def interpolate(
    samples: Samples,
    grid: GridSpec,
    targets_xyz: npt.ArrayLike | None = None,
    *,
    method: str = "auto",
    grid_height_m: float | None = None,
    idw: IDWParams = DEFAULT_IDW,
    kriging: KrigingParams = DEFAULT_KRIGING,
) -> InterpolationResult:
    """Interpolate samples onto a grid and at extra 3D targets.

    Parameters
    ----------
    samples : Samples
        In the grid's local frame. Coinciding samples are merged first
        (:func:`~geo.interpolate.samples.aggregate_duplicates`).
    grid : GridSpec
        Cells are evaluated at their centres.
    targets_xyz : array_like, shape (m, 3), optional
        Extra targets: x, y in the local frame and the height above ground in metres
        (unscaled), e.g. the tiers of the towers.
    method : str
        ``"auto"`` or one of :data:`METHODS` (see the module docstring).
    grid_height_m : float, optional
        Height above ground of the grid, metres. Default: the median height of the
        samples, so that the map shows the level most observations were made at.
    idw, kriging : IDWParams, KrigingParams

    Returns
    -------
    InterpolationResult
        A constant field gives that constant everywhere with zero variance. Values and
        variances are never NaN: every target has ``k`` nearest samples.

    Raises
    ------
    UnknownMethod
        For a method other than ``auto``, ``idw``, ``kriging`` (``field="method"``).
    TooFewObservations
        For an empty sample set.
    GeoError
        For malformed targets or a non-finite ``grid_height_m``.
    """
    if method != "auto" and method not in _BUILDERS:
        raise UnknownMethod(f"unknown method; use auto or one of {', '.join(METHODS)}", "method")
    if kriging.transform == "logit" and not LogitTransform.applies_to(samples.values):
        raise GeoError("must be intensities within [0, 1] for the logit transform", "values")
    merged = aggregate_duplicates(samples)
    if len(merged) == 0:
        raise TooFewObservations("no samples to interpolate", "samples")
    scale = merged.options.vertical_scale
    height = float(np.median(merged.z_m)) if grid_height_m is None else float(grid_height_m)
    if not math.isfinite(height):
        raise GeoError("must be a finite number of metres", "grid_height_m")
    origin = np.array([merged.x_m.mean(), merged.y_m.mean(), 0.0])
    coords = merged.coords(scale) - origin
    extra = _extra_targets(targets_xyz)
    gx, gy = grid.cell_centre_points()
    targets = np.vstack((np.column_stack((gx, gy, np.full(gx.size, height))), extra))
    targets[:, 2] *= scale
    targets -= origin

    choice = _choose(coords, merged.values, merged.weights, method, idw, kriging)
    est, var, choice = _predict(choice, targets, idw, kriging)
    n_grid = gx.size
    parameters = {
        "method": choice.model.name,
        **choice.model.parameters(),
        "vertical_scale": float(scale),
        "grid_height_m": height,
        "n_samples": len(merged),
        "selection": choice.selection,
    }
    if not choice.model.has_kriging_variance:
        parameters["std_error"] = "leave-one-out RMSE (no usable variogram)"
    return InterpolationResult(
        grid=Grid(grid, est[:n_grid].reshape(grid.shape), var[:n_grid].reshape(grid.shape)),
        targets_value=est[n_grid:],
        targets_se=np.sqrt(var[n_grid:]),
        method=choice.model.name,
        parameters=parameters,
        cv=choice.cv,
        fallback=choice.fallback,
        n_samples=len(merged),
        reference_time=merged.reference_time,
    )


def _extra_targets(targets_xyz: npt.ArrayLike | None) -> FloatArray:
    if targets_xyz is None:
        return np.empty((0, 3))
    extra = np.asarray(targets_xyz, dtype=np.float64)
    if extra.size == 0:
        return np.empty((0, 3))
    if extra.ndim != 2 or extra.shape[1] != 3 or not np.all(np.isfinite(extra)):
        raise GeoError("must be finite x, y, height triples, shape (m, 3)", "targets")
    return extra


def _choose(
    coords: FloatArray,
    values: FloatArray,
    weights: FloatArray,
    method: str,
    idw: IDWParams,
    kriging: KrigingParams,
) -> _Choice:
    """Build the candidate methods, score them, and pick one."""
    models: dict[str, Interpolator] = {}
    unavailable: dict[str, str] = {}
    for name in _AUTO if method == "auto" else (method,):
        try:
            models[name] = _BUILDERS[name](coords, values, weights, idw, kriging)
        except DegenerateVariogram as exc:
            unavailable[name] = f"degenerate variogram: {exc.reason}"
    fallback = None
    if not models:
        models["idw"] = _build_idw(coords, values, weights, idw, kriging)
        fallback = f"{unavailable[method]}; used IDW"
    cv = {name: leave_one_out(m) for name, m in models.items() if len(m) >= 2}
    if method == "auto" and len(cv) == 2:
        k_rmse, i_rmse = _finite_or_inf(cv["kriging"].rmse), _finite_or_inf(cv["idw"].rmse)
        best = "idw" if i_rmse < (1.0 - AUTO_MARGIN) * k_rmse else "kriging"
        selection = (
            f"auto: {best}; leave-one-out RMSE kriging {cv['kriging'].rmse:.4g}, "
            f"idw {cv['idw'].rmse:.4g} (IDW is served only when more than "
            f"{AUTO_MARGIN:.0%} lower)"
        )
    else:
        best = next(iter(models))
        selection = (
            f"auto: {best}, the only usable method" if method == "auto" else f"{method} requested"
        )
        if unavailable:
            selection += "; " + "; ".join(f"{n}: {why}" for n, why in unavailable.items())
    return _Choice(models[best], cv, fallback, selection)


def _finite_or_inf(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def _predict(
    choice: _Choice, targets: FloatArray, idw: IDWParams, kriging: KrigingParams
) -> tuple[FloatArray, FloatArray, _Choice]:
    """Estimates and variances at the targets; exact for a constant field.

    Kriging that yields non-finite values (numerically singular systems) is replaced
    by IDW, and the replacement is stated in ``fallback``. A method without a
    prediction variance (IDW without a variogram) gets its leave-one-out mean squared
    error everywhere: an honest average, stated in the parameters.
    """
    model = choice.model
    values = model.values
    if float(np.ptp(values)) == 0.0:
        return np.full(len(targets), values[0]), np.zeros(len(targets)), choice
    est, var = model.predict(targets)
    if not (np.all(np.isfinite(est)) and np.all(np.isfinite(var))):
        replacement = _build_idw(model.coords, values, model.weights, idw, kriging)
        cv = dict(choice.cv)
        if len(replacement) >= 2:
            cv["idw"] = leave_one_out(replacement)
        why = f"{model.name} gave non-finite values (ill-conditioned systems); used IDW"
        est, var = replacement.predict(targets)
        choice = _Choice(replacement, cv, why, f"{choice.selection}; {why}")
    if not choice.model.has_kriging_variance:
        scores = choice.cv.get(choice.model.name) or leave_one_out(choice.model)
        var = np.full(len(targets), scores.rmse**2)
    return est, var, choice
