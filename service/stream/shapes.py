"""Overlay footprints in the hub's local frame: distance from a viewer to a shape.

Near detail (tier rings, heat patches, remedy zones) covers ground: a 100 m heat
patch, a zone of several hectares. Whether a viewer is near it is the distance to
the nearest point of that ground, not to its anchor: at the corner where four heat
patches meet the viewer is at 0 m from all four, though 71 m from each centre.

The distance of a viewer to an overlay is ``min(anchor distance, footprint
distance)`` (0 inside the footprint). :attr:`Footprint.radius_m` bounds the footprint
around the anchor, so that ``anchor distance - radius_m`` is a lower bound: the exact
distance is only computed for pairs that bound does not decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from service.stream.geometry import LocalFrame2D

__all__ = ["Footprint"]


@dataclass(frozen=True, slots=True, eq=False)
class Footprint:
    """A footprint in local metres (prepared for repeated distance queries).

    Attributes
    ----------
    geometry
        The footprint in the hub's local frame (metres east, north).
    radius_m
        Largest distance from the anchor to a point of the footprint.
    """

    geometry: BaseGeometry
    radius_m: float

    @classmethod
    def of(
        cls,
        footprint_wgs84: BaseGeometry | None,
        frame: LocalFrame2D,
        anchor_xy: tuple[float, float],
    ) -> Footprint | None:
        """The footprint of an overlay (``None`` for none, or an empty or point one)."""
        if footprint_wgs84 is None or footprint_wgs84.is_empty:
            return None
        if footprint_wgs84.geom_type in ("Point", "MultiPoint"):
            return None

        def to_local(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            x, y = frame.to_local(coords[:, 0], coords[:, 1])  # type: ignore[arg-type]
            return np.column_stack([x, y])

        local = shapely.transform(footprint_wgs84, to_local)
        ring = shapely.get_coordinates(local)
        radius = float(np.max(np.hypot(ring[:, 0] - anchor_xy[0], ring[:, 1] - anchor_xy[1])))
        shapely.prepare(local)
        return cls(local, radius)

    def distance_m(self, x_m: float, y_m: float) -> float:
        """Metres from ``(x_m, y_m)`` to the footprint (0 inside)."""
        return float(shapely.distance(self.geometry, shapely.Point(x_m, y_m)))

    def distances_m(
        self, x_m: NDArray[np.float64], y_m: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Metres from each point to the footprint (0 inside)."""
        found: NDArray[np.float64] = shapely.distance(self.geometry, shapely.points(x_m, y_m))
        return found
