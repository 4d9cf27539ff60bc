"""The domain error tree of the core. No HTTP knowledge lives here.

Every error carries the ``field`` it is about (a dotted path such as
``features.3.properties.intensity`` or ``geometry``) and a human ``reason``. The
service maps each class to a status code once, in ``service/errors.py``.
"""

from __future__ import annotations

__all__ = [
    "DegenerateVariogram",
    "GeoError",
    "InvalidCRS",
    "InvalidGeometry",
    "InvalidParameter",
    "InvalidTower",
    "InvalidTreatment",
    "OutsideDistrict",
    "TooFewObservations",
    "UnknownMethod",
    "UnreadableFile",
]


class GeoError(Exception):
    """Base of every error raised by :mod:`geo`."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason if field is None else f"{field}: {reason}")
        self.reason = reason
        self.field = field


class InvalidGeometry(GeoError):
    """A geometry is not valid (self-intersection, wrong type, out-of-range coordinates)."""


class InvalidTower(GeoError):
    """A tower's attributes are inconsistent (tiers out of order, taller than the tower...)."""


class OutsideDistrict(GeoError):
    """A location lies too far from the district to be believable."""


class InvalidCRS(GeoError):
    """A coordinate reference system is unknown to pyproj or unusable here."""


class UnreadableFile(GeoError):
    """A file could not be read as the format it claims to be."""


class InvalidParameter(GeoError):
    """A numeric option or argument is out of range (a threshold, a margin, a time...)."""


class InvalidTreatment(GeoError):
    """A treatment record is inconsistent (dose out of range, naive timestamp, bad id...)."""


class TooFewObservations(GeoError):
    """Too few usable observations remain to estimate a field (after windowing and merging)."""


class DegenerateVariogram(GeoError):
    """No usable semivariogram: constant values, too few lags, or a failed or zero-sill fit."""


class UnknownMethod(GeoError):
    """An interpolation method (or variogram model) name that is not known."""
