"""Interpolation of blight observations: samples, IDW, kriging, variograms, validation.

The usual path::

    samples = prepare_samples(observations, frame, tower_index)
    result = interpolate(samples, grid_spec, tier_xyz, method="auto")

Modules: :mod:`~geo.interpolate.samples` (observations to weighted 3D samples),
:mod:`~geo.interpolate.idw`, :mod:`~geo.interpolate.variogram`,
:mod:`~geo.interpolate.kriging` (ordinary kriging in local neighbourhoods),
:mod:`~geo.interpolate.global_kriging` (seam-free: one global solve, or blended patches),
:mod:`~geo.interpolate.transform` (logit kriging of intensities, back-transformed),
:mod:`~geo.interpolate.selection` (variogram and transform chosen by leave-one-out),
:mod:`~geo.interpolate.validate` (leave-one-out scores) and
:mod:`~geo.interpolate.api` (:func:`interpolate`, the method registry).
"""

from geo.interpolate.api import AUTO_MARGIN, METHODS, InterpolationResult, interpolate
from geo.interpolate.base import Interpolator, NeighbourhoodInterpolator
from geo.interpolate.global_kriging import GlobalKrigingModel
from geo.interpolate.idw import IDWModel, IDWParams, idw_estimate
from geo.interpolate.kriging import KrigingModel, KrigingParams, ordinary_kriging
from geo.interpolate.samples import SampleOptions, Samples, aggregate_duplicates, prepare_samples
from geo.interpolate.transform import LogitTransform, TransformedModel
from geo.interpolate.validate import CVScores, cv_scores, leave_one_out, loo_predictions
from geo.interpolate.variogram import (
    MODELS,
    EmpiricalVariogram,
    Variogram,
    VariogramFit,
    empirical_variogram,
    fit_empirical_variogram,
    fit_variogram,
)

__all__ = [
    "AUTO_MARGIN",
    "METHODS",
    "MODELS",
    "CVScores",
    "EmpiricalVariogram",
    "GlobalKrigingModel",
    "IDWModel",
    "IDWParams",
    "InterpolationResult",
    "Interpolator",
    "KrigingModel",
    "KrigingParams",
    "LogitTransform",
    "NeighbourhoodInterpolator",
    "SampleOptions",
    "Samples",
    "TransformedModel",
    "Variogram",
    "VariogramFit",
    "aggregate_duplicates",
    "cv_scores",
    "empirical_variogram",
    "fit_empirical_variogram",
    "fit_variogram",
    "idw_estimate",
    "interpolate",
    "leave_one_out",
    "loo_predictions",
    "ordinary_kriging",
    "prepare_samples",
]
