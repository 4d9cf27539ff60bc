"""How much microbial strain a remedy zone needs, and how urgent it is.

The formulas are small and live apart from the contouring in :mod:`geo.zones` so that
they can be read (and tuned) on their own; ``docs/remedy-zones.md`` gives the same
formulas with worked numbers.

Dose
----
With ``I`` an intensity in [0, 1] and ``f(I) = (I / reference_intensity) ** exponent``::

    dose_l_per_m2      = clip(base_l_per_m2      * f(I_zone), min_l_per_m2, max_l_per_m2)
    tier_rate_l_per_m2 = clip(per_tier_l_per_m2  * f(I_tier), min_l_per_m2, max_l_per_m2)
    tier_area_m2       = footprint area of the tower (m²), or point_tier_area_m2 for a
                         tower mapped as a point
    tier_dose_l        = tier_area_m2 * tier_rate_l_per_m2          (per affected tier)
    total_dose_l       = dose_l_per_m2 * zone area_m2 + Σ tier_dose_l

Priority
--------
::

    priority = mean_intensity * (1 + n_towers) * (1 + mean_std_error)

Dimensionless; higher is more urgent. Severity dominates, each affected tower adds a
whole unit of weight (towers hold crops on every tier), and uncertainty raises urgency
because a poorly known severe patch may be worse than estimated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from geo.errors import InvalidParameter

__all__ = ["DoseModel", "zone_priority"]


@dataclass(frozen=True, slots=True)
class DoseModel:
    """Litres of strain for the ground of a zone and for the tiers of its towers.

    Litres are of ready-to-apply suspension, not concentrate. The formulas are in the
    module docstring.

    Attributes
    ----------
    base_l_per_m2 : float
        Ground dose at ``reference_intensity``, litres per square metre (default 0.5).
    reference_intensity : float
        Intensity in (0, 1] at which the dose is ``base_l_per_m2`` (default 0.5).
    exponent : float
        How steeply the dose grows with intensity, >= 0 (default 1.0: proportional;
        0 gives a flat dose).
    min_l_per_m2, max_l_per_m2 : float
        Bounds of any application rate, litres per square metre (defaults 0.1 and
        2.0): below the minimum the strain does not establish, above the maximum it
        runs off.
    per_tier_l_per_m2 : float
        Rate on a tier's growing surface at ``reference_intensity``, litres per
        square metre (default 0.3; tiers are sprayed by hand, closer than the ground).
    point_tier_area_m2 : float
        Growing surface assumed for one tier of a tower mapped as a point, square
        metres (default 4.0).

    Examples
    --------
    >>> model = DoseModel()
    >>> model.ground_rate_l_per_m2(0.5), model.ground_rate_l_per_m2(0.8)
    (0.5, 0.8)
    >>> model.tier_dose_l(tier_area_m2=10.0, intensity=0.5)
    3.0
    """

    base_l_per_m2: float = 0.5
    reference_intensity: float = 0.5
    exponent: float = 1.0
    min_l_per_m2: float = 0.1
    max_l_per_m2: float = 2.0
    per_tier_l_per_m2: float = 0.3
    point_tier_area_m2: float = 4.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(math.isfinite(getattr(self, f.name)), f.name, "must be a finite number")
        _check(self.base_l_per_m2 > 0, "base_l_per_m2", "must be > 0 L/m²")
        _check(0 < self.reference_intensity <= 1, "reference_intensity", "must be in (0, 1]")
        _check(self.exponent >= 0, "exponent", "must be >= 0")
        _check(self.min_l_per_m2 >= 0, "min_l_per_m2", "must be >= 0 L/m²")
        _check(
            self.max_l_per_m2 >= self.min_l_per_m2,
            "max_l_per_m2",
            "must be >= min_l_per_m2",
        )
        _check(self.per_tier_l_per_m2 >= 0, "per_tier_l_per_m2", "must be >= 0 L/m²")
        _check(self.point_tier_area_m2 > 0, "point_tier_area_m2", "must be > 0 m²")

    def intensity_factor(self, intensity: float) -> float:
        """``(intensity / reference_intensity) ** exponent``, intensity clipped to [0, 1]."""
        clipped = min(max(float(intensity), 0.0), 1.0)
        return float((clipped / self.reference_intensity) ** self.exponent)

    def ground_rate_l_per_m2(self, intensity: float) -> float:
        """Ground application rate for a zone of mean ``intensity``, litres per m²."""
        return self._clip(self.base_l_per_m2 * self.intensity_factor(intensity))

    def tier_rate_l_per_m2(self, intensity: float) -> float:
        """Application rate on a tier's growing surface at ``intensity``, litres per m²."""
        return self._clip(self.per_tier_l_per_m2 * self.intensity_factor(intensity))

    def tier_area_m2(self, footprint_area_m2: float) -> float:
        """Growing surface of one tier: the footprint area, or ``point_tier_area_m2``
        when the footprint has no area (a point)."""
        return float(footprint_area_m2) if footprint_area_m2 > 0 else self.point_tier_area_m2

    def tier_dose_l(self, tier_area_m2: float, intensity: float) -> float:
        """Litres for one tier of ``tier_area_m2`` square metres at ``intensity``."""
        return float(tier_area_m2) * self.tier_rate_l_per_m2(intensity)

    def _clip(self, rate_l_per_m2: float) -> float:
        return min(max(rate_l_per_m2, self.min_l_per_m2), self.max_l_per_m2)


def zone_priority(mean_intensity: float, n_towers: int, mean_std_error: float) -> float:
    """``mean_intensity * (1 + n_towers) * (1 + mean_std_error)``; higher is more urgent.

    Examples
    --------
    >>> round(zone_priority(0.5, 2, 0.1), 6)
    1.65
    """
    return float(mean_intensity) * (1 + n_towers) * (1.0 + float(mean_std_error))


def _check(ok: bool, field_name: str, reason: str) -> None:
    if not ok:
        raise InvalidParameter(reason, field_name)
