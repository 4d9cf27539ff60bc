"""The optional basemap on the print sheet: buildings and streets under the field.

Buildings are light grey with a darker outline, streets white with a grey casing, the
usual reference-map look; the field is printed over them translucently
(:data:`geo.export.pdf.FIELD_ALPHA_OVER_BASEMAP`), so both read.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Polygon as MplPolygon
from shapely.geometry import box

from geo.basemap import Basemap
from geo.crs import LocalFrame

__all__ = ["draw_basemap"]

_BUILDING_FILL = "#d9d5cc"
_BUILDING_EDGE = "#9e998c"


def draw_basemap(
    ax: Axes,
    basemap: Basemap | None,
    frame: LocalFrame,
    bounds_m: tuple[float, float, float, float],
) -> None:
    """Buildings (light grey) and streets (white, cased) under the field, those that
    reach into the map frame ``bounds_m`` (metres in ``frame``)."""
    if basemap is None:
        return
    west, south, east, north = frame.geometry_to_wgs84(box(*bounds_m)).bounds
    basemap = basemap.within((west, south, east, north))
    for geom in basemap.of_kind("building"):
        for part in getattr(frame.geometry_to_local(geom), "geoms", None) or [
            frame.geometry_to_local(geom)
        ]:
            ax.add_patch(
                MplPolygon(
                    np.asarray(part.exterior.coords),
                    closed=True,
                    facecolor=_BUILDING_FILL,
                    edgecolor=_BUILDING_EDGE,
                    linewidth=0.3,
                    zorder=0.5,
                )
            )
    for geom in basemap.of_kind("street"):
        line = frame.geometry_to_local(geom)
        for part in getattr(line, "geoms", None) or [line]:
            x, y = np.asarray(part.coords).T
            ax.plot(x, y, color=_BUILDING_EDGE, linewidth=2.2, zorder=0.6, solid_capstyle="round")
            ax.plot(x, y, color="white", linewidth=1.6, zorder=0.7, solid_capstyle="round")
