"""The domain error tree of the core. No HTTP knowledge lives here.

Every error carries the ``field`` it is about (a dotted path such as
``features.3.properties.intensity`` or ``geometry``) and a human ``reason``. The
service maps each class to a status code once, in ``service/errors.py``.
"""

from __future__ import annotations

__all__ = [
    "GeoError",
    "InvalidCRS",
    "InvalidGeometry",
    "InvalidTower",
    "OutsideDistrict",
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
