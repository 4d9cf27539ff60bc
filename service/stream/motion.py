"""Where a viewer is, from noisy position fixes: smoothing, deadband and hysteresis.

A phone standing still reports positions that wander by metres (GPS noise of
sigma = 2.5 m is common). Taken at face value, every fix moves the view disc and
overlays near its edge enter and leave over and over. Three measures keep the view
still, each a plain function of the fixes (no I/O, no clock of its own):

Smoothing (:class:`MotionFilter`)
    A Kalman filter per axis with a random-walk motion model: each fix is weighted by
    its reported accuracy against the estimate, whose uncertainty grows by
    ``process_m2_per_s`` per second (a walker's motion). Standing still, the estimate
    averages the fixes; walking, it lags by about two metres. A fix farther than
    ``reset_m`` (or five standard deviations) from the estimate replaces it: the user
    jumped (a new GPS lock, a teleport in a test), there is nothing to smooth.
Deadband (the hub)
    The view's centre follows the estimate only once it is more than the deadband
    away; smaller wanders change nothing and cost nothing (moves are coalesced).
Hysteresis (:func:`leave_margin_m`)
    An overlay enters at its reach and leaves only beyond its reach plus a margin:
    the larger of a fixed margin and the fix's accuracy (capped).

``accuracy_m`` is what the platforms report as horizontal accuracy, the radius of
68 % confidence (``CLLocation.horizontalAccuracy``, Android
``Location.getAccuracy()``); for a 2D normal error of sigma per axis that radius is
about 1.51 sigma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from service.stream.geometry import LocalFrame2D

__all__ = ["RADIUS68_PER_SIGMA", "MotionFilter", "MotionSettings", "leave_margin_m"]

RADIUS68_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))
"""Radius of 68 % confidence of a 2D normal error, in units of its per-axis sigma (1.51)."""


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """How the hub turns fixes into a view position (see the module docstring).

    Attributes
    ----------
    hysteresis_m
        Least leave margin beyond an overlay's reach, metres (0: none).
    max_margin_m
        Cap of the margin a poor accuracy can ask for, metres.
    deadband_m
        Distance the estimate must move before the view follows, metres (0: always).
    smoothing
        Whether fixes are smoothed (``False``: the view takes each fix as it is).
    default_accuracy_m
        Accuracy assumed for a fix without ``accuracy_m``, metres.
    process_m2_per_s
        Growth of the estimate's variance per second (per axis), m^2/s.
    reset_m
        A fix at least this far from the estimate restarts the filter, metres.
    """

    hysteresis_m: float = 10.0
    max_margin_m: float = 50.0
    deadband_m: float = 8.0
    smoothing: bool = True
    default_accuracy_m: float = 5.0
    process_m2_per_s: float = 2.0
    reset_m: float = 50.0


def leave_margin_m(settings: MotionSettings, accuracy_m: float | None) -> float:
    """The margin beyond its reach at which an overlay in view leaves it, metres.

    ``max(hysteresis_m, accuracy_m)``, the accuracy capped at ``max_margin_m``; with
    hysteresis turned off (``hysteresis_m == 0``) there is no margin at all.

    >>> leave_margin_m(MotionSettings(), 3.8), leave_margin_m(MotionSettings(), 80.0)
    (10.0, 50.0)
    """
    if settings.hysteresis_m <= 0:
        return 0.0
    accuracy = 0.0 if accuracy_m is None else min(accuracy_m, settings.max_margin_m)
    return max(settings.hysteresis_m, accuracy)


class MotionFilter:
    """A viewer's smoothed position from fixes (lon/lat, accuracy, time).

    The filter works in its own equirectangular frame around the first fix, so it
    does not depend on the hub's frame. Not thread-safe; one per stream.

    Examples
    --------
    >>> f = MotionFilter(MotionSettings(), 5.12, 52.09, 3.8, t_s=0.0)
    >>> lon, lat = f.update(5.12, 52.09 + 0.00002, 3.8, t_s=1.0)  # 2.2 m north
    >>> 0.0 < f.distance_m(5.12, 52.09) < 2.2
    True
    """

    def __init__(
        self,
        settings: MotionSettings,
        lon: float,
        lat: float,
        accuracy_m: float | None,
        t_s: float,
    ) -> None:
        self.settings = settings
        self._frame = LocalFrame2D(lon, lat)
        self._x = self._y = 0.0
        self._var_m2 = self._sigma2(accuracy_m)
        self._t_s = t_s

    def _sigma2(self, accuracy_m: float | None) -> float:
        """Per-axis variance of a fix of ``accuracy_m`` (68 % radius), m^2."""
        accuracy = self.settings.default_accuracy_m if accuracy_m is None else accuracy_m
        sigma = max(accuracy, 0.1) / RADIUS68_PER_SIGMA
        return sigma * sigma

    @property
    def lonlat(self) -> tuple[float, float]:
        """The current estimate, WGS84 degrees."""
        return self._frame.to_lonlat(self._x, self._y)

    def update(
        self, lon: float, lat: float, accuracy_m: float | None, t_s: float
    ) -> tuple[float, float]:
        """Take a fix at time ``t_s`` (seconds, monotonic); return the estimate (lon, lat)."""
        x, y = self._frame.to_local(lon, lat)
        r = self._sigma2(accuracy_m)
        dt = min(max(t_s - self._t_s, 0.0), 60.0)
        self._t_s = t_s
        prior = self._var_m2 + self.settings.process_m2_per_s * dt
        jump = math.hypot(x - self._x, y - self._y)
        limit = min(self.settings.reset_m, 5.0 * math.sqrt(prior + r))
        if not self.settings.smoothing or jump > max(limit, 3.0 * math.sqrt(r)):
            self._x, self._y, self._var_m2 = x, y, r
            return lon, lat
        gain = prior / (prior + r)
        self._x += gain * (x - self._x)
        self._y += gain * (y - self._y)
        self._var_m2 = (1.0 - gain) * prior
        return self.lonlat

    def distance_m(self, lon: float, lat: float) -> float:
        """Metres between the estimate and ``lon, lat``."""
        x, y = self._frame.to_local(lon, lat)
        return math.hypot(x - self._x, y - self._y)
