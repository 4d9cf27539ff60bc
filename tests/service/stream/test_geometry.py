"""The local metric frame and the bucket index."""

from __future__ import annotations

import math

import pytest
from pyproj import Geod

from service.stream.geometry import GridIndex, LocalFrame2D
from tests.service.stream.helpers import ORIGIN

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(("azimuth", "distance_m"), [(0, 100), (45, 800), (90, 2000), (200, 5000)])
def test_equirectangular_distances_are_close_to_geodesic(azimuth: float, distance_m: float) -> None:
    lon, lat, _ = GEOD.fwd(ORIGIN[0], ORIGIN[1], azimuth, distance_m)
    x, y = LocalFrame2D(*ORIGIN).to_local(lon, lat)
    assert math.hypot(x, y) == pytest.approx(distance_m, rel=5e-3)


def test_grid_candidates_cover_the_disc() -> None:
    index = GridIndex(cell_m=50)
    points = {f"p{i}": (i * 13.0 % 400 - 200, i * 29.0 % 400 - 200) for i in range(300)}
    for key, (x, y) in points.items():
        index.put(key, x, y)
    index.put("p0", 150.0, 150.0)  # moved
    points["p0"] = (150.0, 150.0)
    index.remove("p1")
    del points["p1"]
    found = set(index.candidates(10, -20, 120))
    inside = {k for k, (x, y) in points.items() if math.hypot(x - 10, y + 20) <= 120}
    assert inside <= found and "p1" not in found
    assert len(index) == len(points)


def test_sparse_index_walks_occupied_cells() -> None:
    index = GridIndex(cell_m=10)
    index.put("a", 0, 0)
    index.put("b", 1500, 0)
    assert set(index.candidates(0, 0, 2000)) == {"a", "b"}
