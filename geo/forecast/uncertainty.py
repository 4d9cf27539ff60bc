"""Parameter uncertainty and process noise of the growth, measured on observed days.

The dispersal parameters come from ABC particles (:class:`~geo.forecast.calibrate.
Posterior`); the growth rate is measured directly
(:func:`~geo.forecast.calibrate.estimate_growth_rate`) with its standard error. Two
more things decide how wide a forecast is:

* the **rate's own uncertainty**: each run draws ``r ~ N(rate, se)`` (clipped at 0),
  so a rate measured on few slopes gives a wide forecast, one measured on many a
  narrow one (:func:`posterior_draw`);
* **process noise** (:func:`process_sd`): tiers do not all grow at the mean rate. With
  a daily rate ``r + s z`` the logit of a tier is a random walk, and a slope measured
  over ``g`` days has variance ``s² / g`` plus the observation error's share,
  ``noise_sd² (1/(a(1-a))² + 1/(b(1-b))²) / g²`` for intensities ``a`` then ``b``.
  ``s²`` is the weighted mean of ``g (slope - rate)² - noise share · g`` over the
  slopes (weights as in the rate), clipped at 0 and at :data:`MAX_PROCESS_SD`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.calibrate import Posterior
from geo.forecast.model import SpreadParams
from geo.forecast.observed import ObservedSeries
from geo.forecast.runs import ParamDraw

__all__ = ["MAX_PROCESS_SD", "posterior_draw", "process_sd"]

FloatArray = npt.NDArray[np.float64]
MAX_PROCESS_SD = 1.0
"""Largest process noise of the growth rate, per day."""


def process_sd(
    series: ObservedSeries,
    end_day: int,
    rate_per_day: float,
    noise_sd: float,
    *,
    max_gap_days: int = 3,
    max_intensity: float = 0.95,
    min_pairs: int = 5,
) -> float | None:
    """The process noise ``s`` of the daily growth rate (see the module docstring).

    Reads days ``[0, end_day]`` of ``series``, the pairs of observations of a host at
    most ``max_gap_days`` apart with both values in ``[max(floor, 0.02),
    max_intensity]``. None when fewer than ``min_pairs`` pairs exist.

    Raises
    ------
    InvalidParameter
        When ``end_day`` is outside the series or ``noise_sd`` negative.
    """
    if not 0 <= end_day < series.days:
        raise InvalidParameter(f"must be within [0, {series.days})", "end_day")
    if not (math.isfinite(noise_sd) and noise_sd >= 0.0):
        raise InvalidParameter("must be finite and >= 0", "noise_sd")
    low = max(series.detection_floor, 0.02)
    x = series.intensity[: end_day + 1]
    usable = ~np.isnan(x) & (x >= low) & (x <= max_intensity)
    safe = np.where(usable, x, 0.5)
    logit = np.log(safe / (1.0 - safe))
    inv_var = (safe * (1.0 - safe)) ** 2
    excess: list[FloatArray] = []
    weights: list[FloatArray] = []
    for gap in range(1, min(max_gap_days, x.shape[0] - 1) + 1):
        pair = usable[:-gap] & usable[gap:]
        slope = (logit[gap:] - logit[:-gap]) / gap
        var = 1.0 / inv_var[:-gap] + 1.0 / inv_var[gap:]
        noise = noise_sd**2 * var / gap  # the observation error's share, times g
        excess.append((gap * (slope - rate_per_day) ** 2 - noise)[pair])
        weights.append((gap * gap / var)[pair])
    if not excess:
        return None
    e, w = np.concatenate(excess), np.concatenate(weights)
    if e.size < min_pairs:
        return None
    variance = float(np.sum(w * e) / np.sum(w))
    return min(math.sqrt(max(variance, 0.0)), MAX_PROCESS_SD)


def posterior_draw(
    posterior: Posterior,
    growth_rate_per_day: float | None = None,
    growth_se_per_day: float = 0.0,
    growth_sd_per_day: float = 0.0,
) -> ParamDraw:
    """A parameter draw for :func:`~geo.forecast.runs.posterior_runs`: a particle of
    ``posterior``, with, when ``growth_rate_per_day`` is given (measured, not a
    particle), a rate drawn from ``N(rate, se)`` clipped at 0, and the process noise
    ``growth_sd_per_day``.

    Raises
    ------
    InvalidParameter
        On a negative or non-finite rate, standard error or process noise.
    """
    for name, value in (
        ("growth_rate_per_day", growth_rate_per_day or 0.0),
        ("growth_se_per_day", growth_se_per_day),
        ("growth_sd_per_day", growth_sd_per_day),
    ):
        if not (math.isfinite(value) and value >= 0.0):
            raise InvalidParameter("must be finite and >= 0", name)

    def draw(rng: np.random.Generator) -> SpreadParams:
        params = posterior.sample_params(rng)
        rate = params.growth_rate_per_day
        if growth_rate_per_day is not None:
            rate = max(growth_rate_per_day + growth_se_per_day * float(rng.standard_normal()), 0.0)
        return replace(params, growth_rate_per_day=rate, growth_sd_per_day=growth_sd_per_day)

    return draw
