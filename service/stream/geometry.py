"""Local metric geometry for the stream: an equirectangular frame and a bucket grid.

The hub only needs 2D distances between viewers and overlay anchors inside one
district (a few km across). Longitude and latitude are mapped to metres by the
equirectangular approximation around a fixed reference point::

    x_m = R * cos(lat0) * (lon - lon0)      (east)
    y_m = R * (lat - lat0)                  (north)

with ``R`` the mean Earth radius. Within 5 km of the reference the relative distance
error stays below 0.05 % (a few decimetres at 2 km) at mid latitudes, far below the
accuracy of a phone's position; it grows with the distance from the reference and
towards the poles, so the frame is not meant for regions or the antimeridian.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["EARTH_RADIUS_M", "GridIndex", "LocalFrame2D"]

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M


@dataclass(frozen=True, slots=True)
class LocalFrame2D:
    """Equirectangular east/north metres around ``(lon0, lat0)`` (WGS84 degrees).

    Examples
    --------
    >>> frame = LocalFrame2D(5.12, 52.09)
    >>> x, y = frame.to_local(5.12, 52.09 + 0.001)
    >>> round(x, 6), round(y, 1)
    (0.0, 111.2)
    """

    lon0: float
    lat0: float

    def to_local(self, lon: float, lat: float) -> tuple[float, float]:
        """``(x_m, y_m)``: metres east and north of the reference."""
        k = _M_PER_DEG * math.cos(math.radians(self.lat0))
        return (lon - self.lon0) * k, (lat - self.lat0) * _M_PER_DEG

    def to_lonlat(self, x_m: float, y_m: float) -> tuple[float, float]:
        """``(lon, lat)`` of the point ``x_m`` east and ``y_m`` north of the reference."""
        k = _M_PER_DEG * math.cos(math.radians(self.lat0))
        return self.lon0 + x_m / k, self.lat0 + y_m / _M_PER_DEG


Cell = tuple[int, int]


class GridIndex:
    """Ids bucketed by square cells of ``cell_m`` metres, for disc queries.

    The index stores points only (overlay anchors); a query returns candidate ids
    of every cell touching the disc's bounding square, and the caller filters by
    exact distance.
    """

    def __init__(self, cell_m: float = 100.0) -> None:
        if not cell_m > 0:
            raise ValueError("cell_m must be positive")
        self.cell_m = cell_m
        self._cells: dict[Cell, set[str]] = {}
        self._where: dict[str, Cell] = {}

    def __len__(self) -> int:
        return len(self._where)

    def _cell(self, x_m: float, y_m: float) -> Cell:
        return (math.floor(x_m / self.cell_m), math.floor(y_m / self.cell_m))

    def put(self, key: str, x_m: float, y_m: float) -> None:
        """Insert ``key`` at ``(x_m, y_m)``, or move it there."""
        cell = self._cell(x_m, y_m)
        old = self._where.get(key)
        if old == cell:
            return
        if old is not None:
            self._discard(key, old)
        self._cells.setdefault(cell, set()).add(key)
        self._where[key] = cell

    def remove(self, key: str) -> None:
        """Forget ``key`` (no error when absent)."""
        old = self._where.pop(key, None)
        if old is not None:
            self._discard(key, old)

    def _discard(self, key: str, cell: Cell) -> None:
        bucket = self._cells[cell]
        bucket.discard(key)
        if not bucket:
            del self._cells[cell]

    def candidates(self, x_m: float, y_m: float, radius_m: float) -> Iterator[str]:
        """Ids in the cells that touch the square around the disc (a superset of the disc)."""
        x0, y0 = self._cell(x_m - radius_m, y_m - radius_m)
        x1, y1 = self._cell(x_m + radius_m, y_m + radius_m)
        n_cells = (x1 - x0 + 1) * (y1 - y0 + 1)
        if n_cells > len(self._cells):  # sparse index: walk the occupied cells instead
            for (cx, cy), bucket in self._cells.items():
                if x0 <= cx <= x1 and y0 <= cy <= y1:
                    yield from bucket
            return
        for cx in range(x0, x1 + 1):
            for cy in range(y0, y1 + 1):
                found = self._cells.get((cx, cy))
                if found:
                    yield from found
