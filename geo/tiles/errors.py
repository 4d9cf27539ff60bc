"""Errors of the tile core (no HTTP knowledge: ``service/errors.py`` maps them once)."""

from __future__ import annotations

from geo.errors import GeoError

__all__ = ["NoSuchTile"]


class NoSuchTile(GeoError):
    """A tile matrix set, layer, format, zoom level or tile index that is not served.

    ``field`` names the part of the tile address at fault (``tileMatrixSetId``,
    ``layer``, ``format``, ``z``, ``x`` or ``y``).
    """
