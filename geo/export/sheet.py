"""Cartographic arithmetic of a printed sheet: scale, scale bar, true north.

Everything here is plain numbers, so that the PDF layout (:mod:`geo.export.pdf`) and
the tests share one definition of what the sheet claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyproj import Proj

from geo.crs import LocalFrame

__all__ = ["NorthInfo", "nice_scale_denominator", "north_info", "scale_bar_length_m"]

_NICE_SCALE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 10.0)
_NICE_BAR_STEPS = (1.0, 2.0, 5.0, 10.0)


def nice_scale_denominator(minimum: float) -> int:
    """The smallest "round" map scale denominator (1:N) that is at least ``minimum``.

    >>> nice_scale_denominator(2_310.0)
    2500
    """
    if not (minimum > 0 and math.isfinite(minimum)):
        raise ValueError("the scale denominator must be a positive number")
    power = 10.0 ** math.floor(math.log10(minimum))
    for step in _NICE_SCALE_STEPS:
        if step * power >= minimum * (1 - 1e-12):
            return round(step * power)
    return round(10 * power)  # pragma: no cover - 10 is the last step


def scale_bar_length_m(max_length_m: float) -> float:
    """The longest 1-2-5 length (metres) that is at most ``max_length_m``.

    >>> scale_bar_length_m(180.0)
    100.0
    """
    power = 10.0 ** math.floor(math.log10(max_length_m))
    best = power
    for step in _NICE_BAR_STEPS:
        if step * power <= max_length_m * (1 + 1e-12):
            best = step * power
    return best


@dataclass(frozen=True, slots=True)
class NorthInfo:
    """How true north relates to grid north at a point of a projected map.

    Attributes
    ----------
    true_north_deg : float
        Direction of true north, degrees clockwise from grid north (the map's "up");
        negative when true north lies west of grid north.
    scale_factor : float
        The projection's point scale factor there (1 = distances are true).
    """

    true_north_deg: float
    scale_factor: float

    def statement(self) -> str:
        """One sentence for the sheet: which north is up and how far the other is."""
        side = "east" if self.true_north_deg >= 0 else "west"
        return (
            f"Grid north is up; true north is {abs(self.true_north_deg):.2f}\N{DEGREE SIGN} "
            f"{side} of grid north"
        )


def north_info(frame: LocalFrame, lon: float, lat: float) -> NorthInfo:
    """Meridian convergence and scale factor of ``frame`` at ``lon``, ``lat`` (degrees).

    True north is found by projecting a short step north along the meridian, so the
    sign cannot be confused: a positive angle means the meridian leans east of the
    grid's vertical.
    """
    x0, y0 = frame.to_local(lon, lat)
    x1, y1 = frame.to_local(lon, lat + 1e-4)
    angle = math.degrees(math.atan2(x1 - x0, y1 - y0))
    factors = Proj(frame.crs).get_factors(lon, lat)
    scale = math.sqrt(factors.meridional_scale * factors.parallel_scale)
    return NorthInfo(true_north_deg=angle, scale_factor=scale)
