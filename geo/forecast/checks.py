"""Parameter checks shared by the forecast models: each names the field and the reason."""

from __future__ import annotations

import math
import numbers

from geo.errors import InvalidParameter

__all__ = ["check_finite_in", "check_positive"]


def check_finite_in(value: float, name: str, low: float, high: float = math.inf) -> None:
    """Raise :class:`InvalidParameter` unless ``value`` is a finite number in ``[low, high]``.

    Booleans are not numbers here; numpy scalars are.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameter("must be a finite number", name)
    if not math.isfinite(value):
        raise InvalidParameter("must be a finite number", name)
    if not low <= value <= high:
        raise InvalidParameter(f"must be within [{low}, {high}]", name)


def check_positive(value: float, name: str) -> None:
    """Raise :class:`InvalidParameter` unless ``value`` is a finite number > 0."""
    check_finite_in(value, name, 0.0)
    if value <= 0.0:
        raise InvalidParameter("must be > 0", name)
