"""GeoPose Basic-Quaternion output under each convention, checked against the OGC
schemas, scipy's rotations and NGA's EGM2008 test values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ar_assets.geoid import GEOID_MODEL, geoid_undulation_m, height_msl_m
from ar_assets.geopose import (
    IDENTITY,
    enu_to_eus,
    enu_to_unity_eun,
    geopose,
    normalize,
    quaternion_from_heading,
    quaternion_multiply,
    rotate_vector,
)
from ar_assets.overlay import Anchor, Convention
from geo.errors import InvalidGeometry, InvalidParameter
from tests.ar_assets.conftest import GEOPOSE_VALIDATORS, assert_valid_geopose

ENU_TO_EUS = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""(e, n, u) -> (e, u, -n): coordinates in East-Up-South from East-North-Up."""

GLTF_UP = (0.0, 1.0, 0.0)
GLTF_FORWARD = (0.0, 0.0, -1.0)  # north at identity

POSITIONS = [
    (5.1214, 52.0907, 45.0),  # Utrecht
    (-180.0, -90.0, 0.0),
    (180.0, 90.0, 8000.0),
    (151.2093, -33.8688, -12.5),  # Sydney
    (-74.006, 40.7128, 10.0),  # New York
    (0.0, 0.0, -100.0),
]
HEADINGS = [0.0, 30.0, 90.0, 179.999, 180.0, 270.0, -45.0, 359.9, 720.0]


def random_quaternions(n: int, seed: int = 7) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    return [normalize(tuple(q)) for q in rng.normal(size=(n, 4))]


# --- schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize(("position", "heading"), list(itertools.product(POSITIONS, HEADINGS)))
def test_every_pose_validates(
    position: tuple[float, float, float], heading: float, convention: Convention
) -> None:
    lon, lat, h = position
    anchor = Anchor(lon, lat, h, quaternion_from_heading(heading))
    pose = geopose(anchor, convention)
    assert_valid_geopose(pose)
    assert pose["position"]["lon"] == lon
    assert pose["position"]["lat"] == lat


@pytest.mark.parametrize("q", random_quaternions(20))
def test_arbitrary_rotations_stay_unit_and_valid(q: tuple[float, float, float, float]) -> None:
    for convention in Convention:
        assert_valid_geopose(geopose(Anchor(5.0, 52.0, 40.0, q), convention))


def test_the_schema_check_can_fail() -> None:
    pose = geopose(Anchor(5.0, 52.0, 40.0), Convention.GEOPOSE)
    del pose["position"]["h"]
    assert list(GEOPOSE_VALIDATORS["basic"].iter_errors(pose))
    extra = geopose(Anchor(5.0, 52.0, 40.0)) | {"frame": "enu"}
    assert not list(GEOPOSE_VALIDATORS["basic"].iter_errors(extra))
    assert list(GEOPOSE_VALIDATORS["strict"].iter_errors(extra))


def test_unnormalized_anchor_quaternions_come_out_unit() -> None:
    pose = geopose(Anchor(5.0, 52.0, 40.0, (0.0, 0.0, 2.0, 2.0)))
    q = pose["quaternion"]
    assert (q["x"], q["y"], q["z"], q["w"]) == pytest.approx((0.0, 0.0, 0.5**0.5, 0.5**0.5))


@pytest.mark.parametrize(
    ("anchor", "error"),
    [
        (Anchor(5.0, 91.0, 0.0), InvalidGeometry),
        (Anchor(181.0, 0.0, 0.0), InvalidGeometry),
        (Anchor(math.nan, 0.0, 0.0), InvalidGeometry),
        (Anchor(5.0, 52.0, math.inf), InvalidParameter),
        (Anchor(5.0, 52.0, 0.0, (0.0, 0.0, 0.0, 0.0)), InvalidParameter),
        (Anchor(5.0, 52.0, 0.0, (0.0, math.nan, 0.0, 1.0)), InvalidParameter),
    ],
)
def test_invalid_anchors_are_refused(anchor: Anchor, error: type[Exception]) -> None:
    with pytest.raises(error):
        geopose(anchor, Convention.GEOPOSE)


# --- conventions ----------------------------------------------------------------------


def test_geopose_is_identity_of_the_anchor() -> None:
    q = quaternion_from_heading(33.0)
    pose = geopose(Anchor(5.0, 52.0, 40.0, q), Convention.GEOPOSE)
    assert pose["position"] == {"lat": 52.0, "lon": 5.0, "h": 40.0}
    assert tuple(pose["quaternion"].values()) == pytest.approx(q)


def test_arcore_uses_eus_and_ellipsoidal_height() -> None:
    q = random_quaternions(1, seed=3)[0]
    pose = geopose(Anchor(5.0, 52.0, 40.0, q), Convention.ARCORE)
    assert pose["position"]["h"] == 40.0
    assert tuple(pose["quaternion"].values()) == pytest.approx(enu_to_eus(q))


def test_arkit_uses_eus_and_height_above_mean_sea_level() -> None:
    lon, lat = 5.1214, 52.0907
    q = quaternion_from_heading(12.0)
    pose = geopose(Anchor(lon, lat, 45.0, q), Convention.ARKIT)
    n = geoid_undulation_m(lon, lat)
    assert pose["position"]["h"] == pytest.approx(45.0 - n)
    assert 40.0 < n < 47.0  # the geoid lies some 43 m above the ellipsoid in the Netherlands
    assert tuple(pose["quaternion"].values()) == pytest.approx(enu_to_eus(q))


# --- rotations ------------------------------------------------------------------------


@pytest.mark.parametrize("heading", HEADINGS)
def test_heading_turns_north_clockwise(heading: float) -> None:
    q = quaternion_from_heading(heading)
    rad = math.radians(heading)
    # A compass heading: north (0, 1, 0) goes to (sin, cos, 0), east of north when positive.
    assert rotate_vector(q, (0.0, 1.0, 0.0)) == pytest.approx(
        (math.sin(rad), math.cos(rad), 0.0), abs=1e-12
    )
    assert rotate_vector(q, (0.0, 0.0, 1.0)) == pytest.approx((0.0, 0.0, 1.0), abs=1e-12)


@pytest.mark.parametrize("q", random_quaternions(10, seed=11))
def test_rotate_vector_agrees_with_scipy(q: tuple[float, float, float, float]) -> None:
    v = (0.3, -1.2, 2.5)
    assert rotate_vector(q, v) == pytest.approx(tuple(Rotation.from_quat(q).apply(v)), abs=1e-12)
    p = random_quaternions(1, seed=12)[0]
    composed = Rotation.from_quat(p) * Rotation.from_quat(q)
    assert rotate_vector(quaternion_multiply(p, q), v) == pytest.approx(
        tuple(composed.apply(v)), abs=1e-12
    )


@pytest.mark.parametrize("q", random_quaternions(25, seed=5))
def test_eus_quaternion_is_the_same_rotation_seen_in_eus(
    q: tuple[float, float, float, float],
) -> None:
    q_eus = enu_to_eus(q)
    assert sum(c * c for c in q_eus) == pytest.approx(1.0)
    # Rotating in ENU then changing frame == changing frame then rotating in EUS.
    for v in [*np.eye(3).tolist(), [0.4, -0.7, 1.9]]:
        left = ENU_TO_EUS @ np.array(rotate_vector(q, v))
        right = np.array(rotate_vector(q_eus, ENU_TO_EUS @ np.array(v)))
        np.testing.assert_allclose(left, right, atol=1e-12)
    # As matrices (scipy): R_eus = M R_enu M^T.
    expected = ENU_TO_EUS @ Rotation.from_quat(q).as_matrix() @ ENU_TO_EUS.T
    np.testing.assert_allclose(Rotation.from_quat(q_eus).as_matrix(), expected, atol=1e-12)


@pytest.mark.parametrize("heading", HEADINGS)
def test_asset_up_stays_eus_up_and_forward_follows_the_heading(heading: float) -> None:
    q_eus = enu_to_eus(quaternion_from_heading(heading))
    assert rotate_vector(q_eus, GLTF_UP) == pytest.approx(GLTF_UP, abs=1e-12)
    rad = math.radians(heading)
    # The asset's forward (-Z, north at identity) points east for 90 and south for 180:
    # in EUS, east = +X and north = -Z.
    assert rotate_vector(q_eus, GLTF_FORWARD) == pytest.approx(
        (math.sin(rad), 0.0, -math.cos(rad)), abs=1e-12
    )


def test_identity_maps_to_identity() -> None:
    assert enu_to_eus(IDENTITY) == IDENTITY
    assert quaternion_from_heading(0.0) == IDENTITY
    assert quaternion_from_heading(360.0) == pytest.approx(IDENTITY)


def test_normalize_is_canonical() -> None:
    assert normalize((0.0, 0.0, -1.0, -1.0)) == pytest.approx((0.0, 0.0, 0.5**0.5, 0.5**0.5))
    with pytest.raises(InvalidParameter):
        normalize((0.0, 0.0, 0.0))
    with pytest.raises(InvalidParameter):
        quaternion_from_heading(math.inf)


# --- geoid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon_east", "undulation_m", "tolerance_m"),
    [
        # NGA's EGM2008 test values (output.dat of the 2.5' interpolation software).
        (37.0, 241.0, -26.151, 0.001),
        (90.0, 0.0, 14.899, 0.001),
        (-90.0, 0.0, -30.150, 0.001),
        (-90.0, 359.983333, -30.150, 0.001),
        # Between nodes: NGA interpolates with splines, we bilinearly.
        (36.0, 242.983333, -29.171, 0.02),
    ],
)
def test_egm2008_undulation_matches_nga(
    lat: float, lon_east: float, undulation_m: float, tolerance_m: float
) -> None:
    assert GEOID_MODEL == "EGM2008"
    lon = lon_east - 360.0 if lon_east > 180.0 else lon_east
    assert geoid_undulation_m(lon, lat) == pytest.approx(undulation_m, abs=tolerance_m)


def test_geoid_is_continuous_across_the_antimeridian() -> None:
    assert geoid_undulation_m(-180.0, 10.0) == pytest.approx(geoid_undulation_m(180.0, 10.0))
    west, east = geoid_undulation_m(179.999, 10.0), geoid_undulation_m(-179.999, 10.0)
    assert abs(west - east) < 0.05


def test_height_msl_subtracts_the_undulation() -> None:
    n = geoid_undulation_m(-119.0, 37.0)
    assert height_msl_m(-119.0, 37.0, 100.0) == pytest.approx(100.0 - n)
    assert height_msl_m(-119.0, 37.0, 100.0) == pytest.approx(126.151, abs=0.001)


@pytest.mark.parametrize("seed", range(5))
def test_unity_east_up_north_rotates_like_enu(seed: int) -> None:
    """Unity's left-handed EUN quaternion turns EUN coordinates as the ENU one turns ENU ones.

    The map ENU -> EUN, (e, n, u) -> (e, u, n), is a reflection; Unity's Quaternion
    multiplies coordinates with the same algebra, so rotating then mapping must equal
    mapping then rotating with the converted quaternion.
    """
    rng = np.random.default_rng(seed)
    q = Rotation.random(random_state=seed).as_quat()  # (x, y, z, w)
    unity = enu_to_unity_eun(q)
    for v in rng.normal(size=(4, 3)):
        e, n, u = rotate_vector(q, v)
        expected = (e, u, n)
        got = rotate_vector(unity, (v[0], v[2], v[1]))
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_unity_heading_turns_north_to_east() -> None:
    """Heading 90 in ENU: Unity +z (north) goes to +x (east), a positive turn about +y."""
    unity = enu_to_unity_eun(quaternion_from_heading(90.0))
    np.testing.assert_allclose(rotate_vector(unity, (0.0, 0.0, 1.0)), (1.0, 0.0, 0.0), atol=1e-12)
    assert unity[1] > 0  # yaw about Unity's up axis
