"""Shared towers and geometry helpers for the tests of :mod:`geo`."""

from __future__ import annotations

from typing import Any

import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from geo.layer import Tier, Tower

GEOD = Geod(ellps="WGS84")

BERLIN = (13.4050, 52.5200)
"""lon, lat of Berlin Mitte, the fixture district (UTM zone 33N)."""


def offset(
    lon: float, lat: float, east_m: float = 0.0, north_m: float = 0.0
) -> tuple[float, float]:
    """The lon, lat reached by walking ``east_m`` then ``north_m`` along geodesics."""
    lon1, lat1, _ = GEOD.fwd(lon, lat, 90.0, east_m) if east_m else (lon, lat, 0.0)
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, 0.0, north_m) if north_m else (lon1, lat1, 0.0)
    return float(lon2), float(lat2)


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres on the WGS84 ellipsoid."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def square(lon: float, lat: float, half_m: float) -> Polygon:
    """A square footprint about ``2 * half_m`` wide centred on lon, lat (CCW ring)."""
    corners = [(-half_m, -half_m), (half_m, -half_m), (half_m, half_m), (-half_m, half_m)]
    return Polygon([offset(lon, lat, e, n) for e, n in corners])


def make_tower(
    tower_id: str,
    lon: float,
    lat: float,
    *,
    half_m: float | None = None,
    height_m: float = 12.0,
    base_height_m: float = 34.0,
    tier_count: int = 3,
    **kwargs: Any,
) -> Tower:
    """A tower with a point footprint, or a square one when ``half_m`` is given."""
    footprint = Point(lon, lat) if half_m is None else square(lon, lat, half_m)
    spacing = height_m / tier_count
    tiers = tuple(Tier(k, k * spacing, f"crop-{k}") for k in range(tier_count))
    return Tower(tower_id, footprint, base_height_m, height_m, tiers, **kwargs)


def district_towers() -> list[Tower]:
    """Six towers within about 1.5 km of :data:`BERLIN`, listed out of id order."""
    lon, lat = BERLIN
    return [
        make_tower("T-03", *offset(lon, lat, 800.0, 0.0), name="East", district="mitte"),
        make_tower(
            "T-01",
            lon,
            lat,
            half_m=10.0,
            name="Centre",
            district="mitte",
            extra={"owner": "coop", "capacity": 40, "organic": True},
        ),
        make_tower(
            "T-02",
            *offset(lon, lat, 0.0, 600.0),
            half_m=6.0,
            name="North",
            district="mitte",
            height_m=20.0,
            tier_count=5,
        ),
        make_tower(
            "T-05", *offset(lon, lat, -1200.0, -900.0), name="South-west", district="moabit"
        ),
        make_tower(
            "T-04",
            *offset(lon, lat, 300.0, -300.0),
            half_m=4.0,
            name="Yard",
            district="mitte",
            extra={"rating": 4.5},
        ),
        make_tower(
            "T-06", *offset(lon, lat, 1500.0, 200.0), name="Far east", district="friedrichshain"
        ),
    ]


@pytest.fixture
def towers() -> list[Tower]:
    """See :func:`district_towers`."""
    return district_towers()
