from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from pyproj import CRS
from shapely.geometry import Point

from geo.crs import LocalFrame, check_lonlat, parse_crs, reproject_geometry
from geo.errors import InvalidCRS, InvalidGeometry
from tests.geo.conftest import BERLIN, geodesic_m, offset, square


@pytest.mark.parametrize(
    ("city", "lon", "lat", "epsg"),
    [
        ("Berlin", 13.4050, 52.5200, 32633),
        ("Amsterdam", 4.9041, 52.3676, 32631),
        ("New York", -74.0060, 40.7128, 32618),
        ("Sydney", 151.2093, -33.8688, 32756),
        ("Nairobi", 36.8219, -1.2921, 32737),
        ("Quito", -78.4678, -0.1807, 32717),
    ],
)
def test_utm_zone_of_known_cities(city: str, lon: float, lat: float, epsg: int) -> None:
    frame = LocalFrame.for_lonlat([lon], [lat])
    assert frame.epsg == epsg, city
    assert frame.crs == CRS.from_epsg(epsg)
    assert "UTM zone" in frame.name


def test_utm_zone_uses_centroid_of_all_points() -> None:
    # Points straddling the 12 E border; their centroid lies in zone 33.
    frame = LocalFrame.for_lonlat([11.9, 12.3, 12.4], [52.0, 52.1, 52.2])
    assert frame.epsg == 32633


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (11.9999, 50.0, 32632),
        (12.0001, 50.0, 32633),
        (12.001, 0.001, 32633),
        (12.001, -0.001, 32733),
    ],
)
def test_zone_and_hemisphere_borders(lon: float, lat: float, epsg: int) -> None:
    assert LocalFrame.for_lonlat(lon, lat).epsg == epsg


@pytest.mark.parametrize(
    ("lons", "lats", "centre"),
    [
        ([5.0, 15.0], [50.0, 50.0], (10.0, 50.0)),  # two zones wide
        ([-3.5, 3.5], [10.0, 10.0], (0.0, 10.0)),  # just over one zone width
        ([0.0, 1.0], [84.5, 85.5], (0.5, 85.0)),  # polar north
        ([10.0], [-86.0], (10.0, -86.0)),  # polar south
    ],
)
def test_aeqd_fallback(lons: list[float], lats: list[float], centre: tuple[float, float]) -> None:
    frame = LocalFrame.for_lonlat(lons, lats)
    assert frame.epsg is None
    operation = frame.crs.coordinate_operation
    assert operation is not None
    assert "Azimuthal Equidistant" in operation.method_name
    params = {param.name: param.value for param in operation.params}
    assert params["Longitude of natural origin"] == pytest.approx(centre[0])
    assert params["Latitude of natural origin"] == pytest.approx(centre[1])
    assert frame.to_local(*centre) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_one_zone_width_still_uses_utm() -> None:
    assert LocalFrame.for_lonlat([10.0, 16.0], [45.0, 45.0]).epsg == 32633


def test_antimeridian_span_is_the_short_way_round() -> None:
    frame = LocalFrame.for_lonlat([179.5, -179.5], [10.0, 10.0])
    assert frame.epsg in (32660, 32601)
    (x1, x2), (y1, y2) = frame.to_local([179.5, -179.5], [10.0, 10.0])
    planar = math.hypot(x2 - x1, y2 - y1)
    assert planar == pytest.approx(geodesic_m(179.5, 10.0, -179.5, 10.0), rel=2e-3)


def test_round_trip_scalars_give_floats() -> None:
    frame = LocalFrame.for_lonlat(*BERLIN)
    x, y = frame.to_local(*BERLIN)
    assert isinstance(x, float) and isinstance(y, float)
    assert 300_000.0 < x < 500_000.0  # west of the 15 E central meridian
    assert frame.to_local(15.0, 0.0) == pytest.approx((500_000.0, 0.0), abs=1e-6)
    lon, lat = frame.to_wgs84(x, y)
    assert isinstance(lon, float)
    assert (lon, lat) == pytest.approx(BERLIN, abs=1e-9)


def test_round_trip_arrays_give_arrays() -> None:
    frame = LocalFrame.for_lonlat(*BERLIN)
    lons = np.array([13.3, 13.4, 13.5])
    lats = np.array([52.4, 52.5, 52.6])
    x, y = frame.to_local(lons, lats)
    assert isinstance(x, np.ndarray) and x.shape == (3,)
    back_lon, back_lat = frame.to_wgs84(x, y)
    np.testing.assert_allclose(back_lon, lons, atol=1e-9)
    np.testing.assert_allclose(back_lat, lats, atol=1e-9)


@pytest.mark.parametrize("distance_m", [100.0, 1_000.0, 10_000.0])
@pytest.mark.parametrize("bearing", ["east", "north"])
def test_local_distances_match_geodesic(distance_m: float, bearing: str) -> None:
    lon, lat = BERLIN
    east, north = (distance_m, 0.0) if bearing == "east" else (0.0, distance_m)
    other = offset(lon, lat, east, north)
    frame = LocalFrame.for_lonlat(*BERLIN)
    (x1, x2), (y1, y2) = frame.to_local([lon, other[0]], [lat, other[1]])
    assert math.hypot(x2 - x1, y2 - y1) == pytest.approx(distance_m, rel=1e-3)


def test_geometry_round_trip() -> None:
    footprint = square(*BERLIN, half_m=50.0)
    frame = LocalFrame.for_lonlat(*BERLIN)
    local = frame.geometry_to_local(footprint)
    assert local.area == pytest.approx(100.0 * 100.0, rel=2e-3)
    back = frame.geometry_to_wgs84(local)
    assert back.equals_exact(footprint, tolerance=1e-9)


def test_geometry_arrays_are_transformed_elementwise() -> None:
    frame = LocalFrame.for_lonlat(*BERLIN)
    points = np.array([Point(BERLIN), Point(offset(*BERLIN, 1000.0, 0.0))], dtype=object)
    local = frame.geometry_to_local(points)
    assert local.shape == (2,)
    assert local[0].distance(local[1]) == pytest.approx(1000.0, rel=1e-3)


def test_frames_are_frozen_and_comparable() -> None:
    frame = LocalFrame.for_lonlat(*BERLIN)
    assert frame == LocalFrame.for_lonlat(13.5, 52.6)
    assert frame != LocalFrame.for_lonlat(4.9, 52.4)
    assert "UTM zone 33N" in repr(frame)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("lons", "lats"),
    [
        ([], []),
        ([1.0, 2.0], [1.0]),
        ([float("nan")], [1.0]),
        ([181.0], [1.0]),
        ([1.0], [-90.5]),
    ],
)
def test_for_lonlat_rejects_bad_points(lons: list[float], lats: list[float]) -> None:
    with pytest.raises(InvalidGeometry) as info:
        LocalFrame.for_lonlat(lons, lats)
    assert info.value.field == "coordinates"


def test_from_crs_accepts_metric_projections() -> None:
    frame = LocalFrame.from_crs("EPSG:25832")
    assert frame.epsg == 25832
    x, _ = frame.to_local(9.0, 50.0)  # central meridian of zone 32
    assert x == pytest.approx(500_000.0, abs=1e-3)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:2263", "no such crs"])
def test_from_crs_rejects_unusable(crs: str) -> None:
    with pytest.raises(InvalidCRS) as info:
        LocalFrame.from_crs(crs)
    assert info.value.field == "crs"


def test_parse_crs_names_the_field() -> None:
    assert parse_crs("EPSG:28992").to_epsg() == 28992
    with pytest.raises(InvalidCRS) as info:
        parse_crs("EPSG:999999", "source_crs")
    assert info.value.field == "source_crs"
    assert "999999" not in info.value.reason


@pytest.mark.parametrize("epsg", [28992, 25832, 3857])
def test_reproject_geometry_round_trip(epsg: int) -> None:
    footprint = square(5.3872, 52.1552, half_m=20.0)
    projected = reproject_geometry(footprint, "EPSG:4326", f"EPSG:{epsg}")
    assert abs(projected.centroid.x) > 1000.0  # metres, not degrees
    back = reproject_geometry(projected, f"EPSG:{epsg}", 4326)
    assert back.equals_exact(footprint, tolerance=1e-8)


def test_reproject_geometry_to_dutch_grid() -> None:
    # The Amersfoort origin of the Dutch RD grid lies at about (155 km, 463 km).
    point = reproject_geometry(Point(5.38720621, 52.15517440), "EPSG:4326", "EPSG:28992")
    assert (point.x, point.y) == pytest.approx((155_000.0, 463_000.0), abs=150.0)


def test_reproject_geometry_rejects_unknown_crs() -> None:
    with pytest.raises(InvalidCRS) as info:
        reproject_geometry(Point(0, 0), "EPSG:4326", "nonsense")
    assert info.value.field == "dst_crs"


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(181.0, 0.0), (-180.5, 0.0), (0.0, 91.0), (float("inf"), 0.0), (0.0, float("nan"))],
)
def test_check_lonlat_rejects(lon: float, lat: float) -> None:
    with pytest.raises(InvalidGeometry) as info:
        check_lonlat(lon, lat, "point")
    assert info.value.field == "point"


def test_check_lonlat_accepts_extremes() -> None:
    check_lonlat(-180.0, -90.0)
    check_lonlat(180.0, 90.0)
