"""Anchors for assets built in a district's projected frame (heat patches, zones).

A projected frame's grid north is not true north: in a UTM zone the two differ by
the meridian convergence (1.7 degrees in Utrecht, in zone 31N), which would put the
corner of a 100 m heat patch 3 m off. Assets built in frame metres (x east, y north
of the grid) are therefore anchored with the rotation that turns true north to grid
north at the anchor (a heading about the up axis, see
:func:`ar_assets.geopose.quaternion_from_heading`).
"""

from __future__ import annotations

from pyproj import Geod

from ar_assets.geopose import quaternion_from_heading
from ar_assets.overlay import Anchor
from geo.crs import LocalFrame

__all__ = ["grid_north_heading_deg", "local_anchor"]

_GEOD = Geod(ellps="WGS84")
_STEP_M = 10.0


def grid_north_heading_deg(frame: LocalFrame, x_m: float, y_m: float) -> float:
    """Compass heading (degrees clockwise from true north) of the frame's +y axis at x, y."""
    lon0, lat0 = frame.to_wgs84(x_m, y_m - _STEP_M / 2.0)
    lon1, lat1 = frame.to_wgs84(x_m, y_m + _STEP_M / 2.0)
    azimuth, _, _ = _GEOD.inv(lon0, lat0, lon1, lat1)
    return float(azimuth)


def local_anchor(frame: LocalFrame, x_m: float, y_m: float, h_ellipsoid_m: float) -> Anchor:
    """An anchor at frame point x, y whose asset axes follow the frame's grid axes.

    The asset's +x points to grid east and +y to grid north (in glTF terms: +X grid
    east, -Z grid north); ``h_ellipsoid_m`` is the height above the WGS84 ellipsoid.
    """
    lon, lat = frame.to_wgs84(x_m, y_m)
    heading = grid_north_heading_deg(frame, x_m, y_m)
    return Anchor(
        lon=float(lon),
        lat=float(lat),
        h_ellipsoid_m=float(h_ellipsoid_m),
        quaternion_enu=quaternion_from_heading(heading),
    )
