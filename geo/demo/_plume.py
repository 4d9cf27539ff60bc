"""Wind and spore-plume physics of the outbreak simulator (private).

Two pieces, both documented in :mod:`geo.demo.outbreak`:

* :func:`wind_series` draws an hourly-or-coarser wind as two AR(1) processes (the exact
  discretisation of Ornstein-Uhlenbeck processes): one for the direction deviation
  from the prevailing direction, one for the log of the speed, plus a diurnal cycle;
* :func:`horizontal_dilution` (between towers) and :func:`vertical_factor` (between
  tiers) evaluate the Gaussian plume with ground reflection, with Briggs urban
  dispersion coefficients (McElroy-Pooler, neutral stability) growing with the
  downwind travel distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PlumeParams",
    "Wind",
    "WindParams",
    "horizontal_dilution",
    "vertical_factor",
    "wind_series",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WindParams:
    """Parameters of the wind process (see ``OutbreakConfig`` for meanings and units)."""

    from_mean_deg: float
    direction_sd_deg: float
    direction_corr_hours: float
    speed_median_m_s: float
    speed_sd_log: float
    speed_corr_hours: float
    diurnal_amplitude: float
    diurnal_peak_hour_utc: float
    min_speed_m_s: float


@dataclass(frozen=True, slots=True)
class PlumeParams:
    """Parameters of the plume (see ``OutbreakConfig`` for meanings and units)."""

    sigma0_m: float
    sigma_y_a: float
    sigma_y_b: float
    sigma_z_a: float
    sigma_z_b: float
    max_range_m: float


@dataclass(frozen=True, slots=True)
class Wind:
    """A wind series: speed (m/s) and the direction it blows *from* (degrees from north)."""

    speed_m_s: FloatArray
    from_deg: FloatArray


def _ar1(rng: np.random.Generator, n: int, dt_h: float, corr_h: float, sd: float) -> FloatArray:
    """A stationary AR(1) series of ``n`` values: OU with correlation time ``corr_h``."""
    phi = math.exp(-dt_h / corr_h)
    innovation_sd = sd * math.sqrt(1.0 - phi * phi)
    noise = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = sd * noise[0]
    for k in range(1, n):
        out[k] = phi * out[k - 1] + innovation_sd * noise[k]
    return out


def wind_series(
    rng: np.random.Generator, times: list[datetime], dt_h: float, p: WindParams
) -> Wind:
    """Draw the wind at each step time.

    ``from_deg[k] = mean + D[k]`` and
    ``speed[k] = max(min, median * exp(S[k]) * (1 + A cos(2 pi (hour - peak) / 24)))``
    where ``D`` and ``S`` are independent AR(1) series.
    """
    n = len(times)
    direction = _ar1(rng, n, dt_h, p.direction_corr_hours, p.direction_sd_deg)
    log_speed = _ar1(rng, n, dt_h, p.speed_corr_hours, p.speed_sd_log)
    hours = np.array([t.hour + t.minute / 60.0 for t in times])
    diurnal = 1.0 + p.diurnal_amplitude * np.cos(
        2.0 * math.pi * (hours - p.diurnal_peak_hour_utc) / 24.0
    )
    speed = np.maximum(p.speed_median_m_s * np.exp(log_speed) * diurnal, p.min_speed_m_s)
    return Wind(speed_m_s=speed, from_deg=np.mod(p.from_mean_deg + direction, 360.0))


def horizontal_dilution(
    dx_m: FloatArray, dy_m: FloatArray, speed_m_s: float, from_deg: float, p: PlumeParams
) -> tuple[FloatArray, FloatArray]:
    """Horizontal part of the plume between towers.

    Parameters
    ----------
    dx_m, dy_m : arrays of equal shape
        Receiver minus source position, east and north metres.
    speed_m_s, from_deg : float
        Wind speed and the direction it blows from.

    Returns
    -------
    horizontal : array
        ``exp(-c^2 / 2 sigma_y^2) / (2 pi u sigma_y sigma_z)`` in s/m^3 (per unit
        emission and before the vertical factor); zero upwind, beyond ``max_range_m``
        and where the crosswind factor is below ``1e-6``.
    sigma_z : array
        Vertical spread at the receiver, metres.
    """
    theta = math.radians(from_deg)
    to_x, to_y = -math.sin(theta), -math.cos(theta)
    along = dx_m * to_x + dy_m * to_y
    cross = -dx_m * to_y + dy_m * to_x
    s = np.clip(along, 0.0, p.max_range_m)
    sig_y = np.hypot(p.sigma0_m, p.sigma_y_a * s / np.sqrt(1.0 + p.sigma_y_b * s))
    sig_z = np.hypot(p.sigma0_m, p.sigma_z_a * s / np.sqrt(1.0 + p.sigma_z_b * s))
    lateral = np.exp(-0.5 * (cross / sig_y) ** 2)
    keep = (along > 0.0) & (along <= p.max_range_m) & (lateral >= 1e-6)
    return np.where(keep, lateral / (2.0 * math.pi * speed_m_s * sig_y * sig_z), 0.0), sig_z


def vertical_factor(
    z_src_m: FloatArray,
    z_rcv_m: FloatArray,
    agl_src_m: FloatArray,
    agl_rcv_m: FloatArray,
    sigma_z_m: FloatArray,
) -> FloatArray:
    """Vertical part of the plume with ground reflection (dimensionless, 0..2).

    ``exp(-(z_r - z_s)^2 / 2 sigma_z^2) + exp(-(h_r + h_s)^2 / 2 sigma_z^2)`` with
    ellipsoidal heights ``z`` and heights above the ground ``h``, metres.
    """
    return np.exp(-0.5 * ((z_rcv_m - z_src_m) / sigma_z_m) ** 2) + np.exp(
        -0.5 * ((agl_rcv_m + agl_src_m) / sigma_z_m) ** 2
    )
