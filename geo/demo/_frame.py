"""A local metric frame for the demo generators.

A private azimuthal-equidistant frame built directly with pyproj, so that the demo
package does not depend on :mod:`geo.crs`. Within a few kilometres of its origin the
frame is metric to better than a millimetre per metre.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer

__all__ = ["LocalFrame"]


class LocalFrame:
    """East/north metres around an origin, to and from WGS84 lon/lat.

    Parameters
    ----------
    lon0, lat0 : float
        Origin of the frame in WGS84 degrees.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        local = CRS.from_dict(
            {"proj": "aeqd", "lat_0": lat0, "lon_0": lon0, "datum": "WGS84", "units": "m"}
        )
        wgs84 = CRS.from_epsg(4326)
        self.lon0 = lon0
        self.lat0 = lat0
        self._to_local = Transformer.from_crs(wgs84, local, always_xy=True)
        self._to_wgs84 = Transformer.from_crs(local, wgs84, always_xy=True)

    def to_local(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Project lon/lat degrees to east/north metres."""
        x, y = self._to_local.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def to_wgs84(
        self, x_m: NDArray[np.float64], y_m: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Unproject east/north metres to lon/lat degrees."""
        lon, lat = self._to_wgs84.transform(np.asarray(x_m, float), np.asarray(y_m, float))
        return np.asarray(lon, float), np.asarray(lat, float)
