"""The tile layers: what each shows, its kind, colormap, units and label.

Raster layers are coloured through :func:`geo.colormap.colormap` of their
``colormap`` name, the table shared with the AR overlays and the legends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from geo.tiles.errors import NoSuchTile

__all__ = [
    "LAYERS",
    "RASTER_LAYERS",
    "VECTOR_LAYERS",
    "RasterLayer",
    "VectorLayer",
    "raster_layer",
    "tile_layer",
]


@dataclass(frozen=True, slots=True)
class RasterLayer:
    """A layer rendered from a grid band.

    Attributes
    ----------
    name : str
        The layer's name in tile URLs.
    band : {"values", "std_error"}
        Which band of the field (or of the probability grid) it shows.
    colormap : str
        Name in :data:`geo.colormap.COLORMAPS`.
    label, units, description : str
        For legends and TileJSON (``units`` is ``"1"`` for a dimensionless quantity).
    """

    name: str
    band: Literal["values", "std_error"]
    colormap: str
    label: str
    units: str
    description: str
    kind: Literal["raster"] = "raster"


@dataclass(frozen=True, slots=True)
class VectorLayer:
    """A layer of features encoded as Mapbox Vector Tiles.

    Attributes
    ----------
    fields : mapping of str to str
        Property name -> TileJSON ``vector_layers`` type (``"String"``, ``"Number"``,
        ``"Boolean"``).
    """

    name: str
    label: str
    description: str
    fields: Mapping[str, str]
    kind: Literal["vector"] = "vector"


RASTER_LAYERS: Mapping[str, RasterLayer] = MappingProxyType(
    {
        "blight": RasterLayer(
            "blight",
            "values",
            "intensity",
            "Blight intensity",
            "1",
            "Interpolated blight intensity (0 healthy, 1 fully blighted).",
        ),
        "uncertainty": RasterLayer(
            "uncertainty",
            "std_error",
            "uncertainty",
            "Standard error of the intensity",
            "1",
            "Standard error of the interpolated intensity (kriging or IDW estimate).",
        ),
        "forecast": RasterLayer(
            "forecast",
            "values",
            "probability",
            "Probability of blight",
            "1",
            "Probability that the ground is blighted on the requested forecast day, "
            "from the latest finished forecast ensemble.",
        ),
    }
)
"""Raster layer name -> its description."""

VECTOR_LAYERS: Mapping[str, VectorLayer] = MappingProxyType(
    {
        "towers": VectorLayer(
            "towers",
            "Farm towers",
            "Towers (points at their footprint's centroid) with their tiers' intensity.",
            MappingProxyType(
                {
                    "id": "String",
                    "name": "String",
                    "height_m": "Number",
                    "base_height_m": "Number",
                    "tiers": "Number",
                    "intensity_max": "Number",
                    "intensity_mean": "Number",
                    "std_error_max": "Number",
                    "field_version": "Number",
                }
            ),
        ),
        "zones": VectorLayer(
            "zones",
            "Remedy zones",
            "Where to treat, in what order (rank 1 first) and how much.",
            MappingProxyType(
                {
                    "id": "String",
                    "band": "Number",
                    "rank": "Number",
                    "priority": "Number",
                    "threshold_min": "Number",
                    "threshold_max": "Number",
                    "mean_intensity": "Number",
                    "max_intensity": "Number",
                    "mean_std_error": "Number",
                    "area_m2": "Number",
                    "dose_l_per_m2": "Number",
                    "total_dose_l": "Number",
                    "towers": "String",
                    "field_version": "Number",
                }
            ),
        ),
    }
)
"""Vector layer name -> its description and property types."""

LAYERS: Mapping[str, RasterLayer | VectorLayer] = MappingProxyType(
    {**RASTER_LAYERS, **VECTOR_LAYERS}
)
"""Every tile layer by name."""


def tile_layer(name: str) -> RasterLayer | VectorLayer:
    """The layer ``name``.

    Raises
    ------
    NoSuchTile
        When there is no such layer (``field="layer"``).
    """
    try:
        return LAYERS[name]
    except KeyError:
        raise NoSuchTile(f"unknown layer; known: {', '.join(LAYERS)}", "layer") from None


def raster_layer(name: str) -> RasterLayer:
    """The raster layer ``name``.

    Raises
    ------
    NoSuchTile
        When ``name`` is not a raster layer (``field="layer"``).
    """
    layer = tile_layer(name)
    if not isinstance(layer, RasterLayer):
        raise NoSuchTile(
            f"'{name}' is a vector layer; raster layers: {', '.join(RASTER_LAYERS)}", "layer"
        )
    return layer
