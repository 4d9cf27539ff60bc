"""Overlays of a small synthetic district: anchors, assets, styles and messages."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pygltflib
import pytest
import shapely
from pyproj import CRS, Geod, Proj

from ar_assets.assets import AssetStore
from ar_assets.catalog import OverlayCatalog
from ar_assets.geopose import rotate_vector
from ar_assets.gltf import builders
from ar_assets.overlay import Anchor, Convention, Overlay, OverlayKind
from ar_assets.overlays import (
    HEAT_LIFT_M,
    RING_MARGIN_M,
    RING_THICKNESS_M,
    ZONE_HEIGHT_M,
    heat_overlays,
    overlay_message,
    tower_overlays,
    zone_overlays,
)
from geo.colormap import COLORMAPS
from geo.errors import InvalidCRS
from geo.grid import Grid, GridSpec
from geo.tower_index import TowerIndex
from geo.zones import remedy_zones
from tests.ar_assets.conftest import (
    FRAME,
    GROUND_M,
    X0,
    Y0,
    ValidateGlb,
    assert_valid_geopose,
    issues,
    make_grid,
    make_zone,
    square_tower,
)

GEOD = Geod(ellps="WGS84")
TOWERS = [
    square_tower("T1", 0.0, 0.0, half_m=5.0),
    square_tower("T2", 60.0, -20.0, half_m=None, tiers=2),
    square_tower("T3", -80.0, 40.0, half_m=3.0),
]
TIER_VALUES = {
    ("T1", 0): (0.2, 0.05),
    ("T1", 1): (0.7, 0.1),
    ("T1", 2): (math.nan, math.nan),
    ("T2", 0): (0.4, 0.02),
    ("T2", 1): (0.45, 0.03),
}
# 200 m x 150 m at 2 m: tiles 6498..6499 east, 57730 (half) and 57731 (full) north.
GRID = make_grid(649_800.0, 5_773_200.0, 100, 75)
DONUT = shapely.box(X0 - 30, Y0 - 20, X0 + 30, Y0 + 20).difference(
    shapely.box(X0 - 5, Y0 - 5, X0 + 5, Y0 + 5)
)


def glb_of(store: AssetStore, href: str) -> bytes:
    data = store.get(href.removeprefix("/assets/").removesuffix(".glb"))
    assert data is not None
    return data


def vertices(glb: bytes) -> np.ndarray:
    doc = pygltflib.GLTF2.load_from_bytes(glb)
    blob = doc.binary_blob()
    out = []
    for primitive in doc.meshes[0].primitives:
        accessor = doc.accessors[primitive.attributes.POSITION]
        view = doc.bufferViews[accessor.bufferView]
        data = np.frombuffer(blob, np.float32, accessor.count * 3, view.byteOffset)
        out.append(data.reshape(-1, 3))
    return np.vstack(out)


def placed_lonlat(anchor: Anchor, gltf_xyz: tuple[float, float, float]) -> tuple[float, float]:
    """Where a client puts an asset vertex: glTF -> asset ENU axes -> rotate -> geodesic."""
    x, y, z = gltf_xyz
    east, north, _ = rotate_vector(anchor.quaternion_enu, (x, -z, y))
    azimuth = math.degrees(math.atan2(east, north))
    lon, lat, _ = GEOD.fwd(anchor.lon, anchor.lat, azimuth, math.hypot(east, north))
    return float(lon), float(lat)


def miss_m(anchor: Anchor, gltf_xyz: tuple[float, float, float], x_m: float, y_m: float) -> float:
    """Distance between where a vertex is shown and where the frame point really is."""
    lon, lat = placed_lonlat(anchor, gltf_xyz)
    true_lon, true_lat = FRAME.to_wgs84(x_m, y_m)
    return float(GEOD.inv(lon, lat, true_lon, true_lat)[2])


@pytest.fixture
def store() -> AssetStore:
    return AssetStore()


# --- towers and tiers -----------------------------------------------------------------


def test_one_marker_per_tower_and_one_ring_per_tier(store: AssetStore) -> None:
    overlays = tower_overlays(TOWERS, TIER_VALUES, store)
    assert [o.id for o in overlays] == [
        "tower:T1", "tier:T1:0", "tier:T1:1", "tier:T1:2",
        "tower:T2", "tier:T2:0", "tier:T2:1",
        "tower:T3", "tier:T3:0", "tier:T3:1", "tier:T3:2",
    ]  # fmt: skip
    kinds = {o.id.split(":")[0]: o.kind for o in overlays}
    assert kinds == {"tower": OverlayKind.TOWER_MARKER, "tier": OverlayKind.TIER_RING}
    assert {o.version for o in overlays} == {0}


def test_marker_anchor_colour_and_properties(store: AssetStore) -> None:
    marker = tower_overlays(TOWERS, TIER_VALUES, store)[0]
    lon, lat = TOWERS[0].centroid_lonlat
    assert marker.anchor == Anchor(lon, lat, GROUND_M)
    assert marker.style == {"color": COLORMAPS["intensity"].hex(0.7), "label": "Tower T1"}
    assert marker.properties == {"tower_id": "T1", "intensity_max": 0.7}
    pts = vertices(glb_of(store, marker.asset))
    assert pts[:, 1].max() == pytest.approx(TOWERS[0].height_m)
    # The footprint disc has the equal-area radius of the 10 m square.
    assert np.hypot(pts[:, 0], pts[:, 2]).max() == pytest.approx(10 / math.sqrt(math.pi), rel=1e-3)


def test_rings_sit_at_their_tier_with_the_footprint_radius(store: AssetStore) -> None:
    overlays = {o.id: o for o in tower_overlays(TOWERS, TIER_VALUES, store)}
    for tower, half_diagonal_m in ((TOWERS[0], 5.0 * math.sqrt(2)), (TOWERS[1], 0.0)):
        for tier in tower.tiers:
            ring = overlays[f"tier:{tower.id}:{tier.level}"]
            assert ring.anchor.h_ellipsoid_m == GROUND_M + tier.height_m
            assert (ring.anchor.lon, ring.anchor.lat) == tower.centroid_lonlat
            outer = np.hypot(*vertices(glb_of(store, ring.asset))[:, [0, 2]].T).max()
            expected = half_diagonal_m + RING_MARGIN_M + RING_THICKNESS_M / 2
            assert outer == pytest.approx(expected, rel=1e-3)


def test_ring_style_and_properties(store: AssetStore) -> None:
    stamp = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    overlays = {o.id: o for o in tower_overlays(TOWERS, TIER_VALUES, store, interpolated_at=stamp)}
    ring = overlays["tier:T1:1"]
    assert ring.style == {
        "color": COLORMAPS["intensity"].hex(0.7),
        "intensity": 0.7,
        "uncertainty": 0.1,
        "uncertainty_color": COLORMAPS["uncertainty"].hex(0.1),
        "label": "Tower T1 tier 1",
    }
    assert ring.properties == {
        "tower_id": "T1",
        "tier": 1,
        "intensity": 0.7,
        "std_error": 0.1,
        "interpolated_at": "2025-05-01T12:00:00+00:00",
    }


@pytest.mark.parametrize("tier_values", [None, {}, {("T3", 0): (math.nan, math.nan)}])
def test_missing_estimates_are_grey_and_null(
    store: AssetStore, tier_values: dict[tuple[str, int], tuple[float, float]] | None
) -> None:
    overlays = {o.id: o for o in tower_overlays(TOWERS, tier_values, store)}
    assert overlays["tower:T3"].properties["intensity_max"] is None
    assert overlays["tower:T3"].style["color"] == "#9e9e9e"
    ring = overlays["tier:T3:0"]
    assert ring.style["intensity"] is None and ring.style["uncertainty_color"] is None
    assert ring.properties["std_error"] is None
    json.dumps(overlay_message(ring), allow_nan=False)


def test_version_of_is_used(store: AssetStore) -> None:
    overlays = tower_overlays(TOWERS[:1], TIER_VALUES, store, lambda overlay_id: len(overlay_id))
    assert {o.id: o.version for o in overlays} == {
        "tower:T1": 8, "tier:T1:0": 9, "tier:T1:1": 9, "tier:T1:2": 9,
    }  # fmt: skip


# --- heat patches ---------------------------------------------------------------------


def test_heat_tiles_are_aligned_and_sized(store: AssetStore) -> None:
    patches = {o.id: o for o in heat_overlays(GRID, FRAME, GROUND_M, store)}
    assert sorted(patches) == [
        "heat:6498:57730", "heat:6498:57731", "heat:6499:57730", "heat:6499:57731",
    ]  # fmt: skip
    full, half = patches["heat:6498:57731"], patches["heat:6498:57730"]
    assert full.properties["bounds_local"] == [649_800.0, 5_773_100.0, 649_900.0, 5_773_200.0]
    assert half.properties["bounds_local"] == [649_800.0, 5_773_050.0, 649_900.0, 5_773_100.0]
    assert full.properties["cells"] == 2500 and half.properties["cells"] == 1250
    for patch, depth_m in ((full, 100.0), (half, 50.0)):
        pts = vertices(glb_of(store, patch.asset))
        assert np.ptp(pts[:, 0]) == pytest.approx(100.0)
        assert np.ptp(pts[:, 2]) == pytest.approx(depth_m)
        assert patch.anchor.h_ellipsoid_m == GROUND_M + HEAT_LIFT_M
        assert patch.kind is OverlayKind.HEAT_PATCH


def test_heat_patches_are_turned_to_grid_north(store: AssetStore) -> None:
    patch = next(o for o in heat_overlays(GRID, FRAME, GROUND_M, store) if o.id.endswith("57731"))
    x0, y0, x1, y1 = patch.properties["bounds_local"]
    # Heading of grid north = meridian convergence (pyproj), 1.7 degrees in Utrecht.
    convergence = (
        Proj(FRAME.crs).get_factors(patch.anchor.lon, patch.anchor.lat).meridian_convergence
    )
    heading = -2.0 * math.degrees(
        math.atan2(patch.anchor.quaternion_enu[2], patch.anchor.quaternion_enu[3])
    )
    assert heading == pytest.approx(convergence, abs=1e-3)
    assert 1.0 < convergence < 2.5
    # Every corner of the patch lands on its frame corner, within 2 cm over 100 m...
    corners = {
        (-50.0, 0.0, -50.0): (x0, y1),
        (50.0, 0.0, 50.0): (x1, y0),
        (50.0, 0.0, -50.0): (x1, y1),
    }
    for gltf_xyz, (x, y) in corners.items():
        assert miss_m(patch.anchor, gltf_xyz, x, y) < 0.02
    # ...whereas ignoring grid north would put them well over a metre off.
    unturned = Anchor(patch.anchor.lon, patch.anchor.lat, patch.anchor.h_ellipsoid_m)
    assert miss_m(unturned, (50.0, 0.0, -50.0), x1, y1) > 1.0


def test_heat_ids_and_assets_are_stable_when_the_grid_grows(store: AssetStore) -> None:
    small = {o.id: o for o in heat_overlays(GRID, FRAME, GROUND_M, store)}
    bigger = make_grid(649_700.0, 5_773_300.0, 200, 150)
    large = {o.id: o for o in heat_overlays(bigger, FRAME, GROUND_M, store)}
    assert set(small) < set(large)
    for tile in ("heat:6498:57731", "heat:6499:57731"):  # fully inside both grids
        assert large[tile].asset == small[tile].asset
        assert large[tile].anchor == small[tile].anchor
    assert large["heat:6498:57730"].asset != small["heat:6498:57730"].asset  # now full


def test_empty_tiles_are_left_out(store: AssetStore) -> None:
    values = GRID.values.copy()
    values[:50, :50] = np.nan  # the north-west tile
    grid = Grid(GRID.spec, values, GRID.variance)
    ids = {o.id for o in heat_overlays(grid, FRAME, GROUND_M, store)}
    assert "heat:6498:57731" not in ids and len(ids) == 3


def test_heat_needs_the_frame_crs(store: AssetStore) -> None:
    spec = GridSpec(CRS.from_epsg(3857), 580_000.0, 6_820_000.0, 1.0, 10, 10)
    other = Grid(spec, np.zeros(spec.shape), np.zeros(spec.shape))
    with pytest.raises(InvalidCRS):
        heat_overlays(other, FRAME, GROUND_M, store)


# --- zones ----------------------------------------------------------------------------


def test_zone_volume_anchor_geometry_and_style(store: AssetStore) -> None:
    zone = make_zone("zone-b1-001", DONUT, band=1, rank=2)
    (overlay,) = zone_overlays([zone], FRAME, GROUND_M, store)
    assert overlay.id == "zone:zone-b1-001"
    assert overlay.kind is OverlayKind.REMEDY_ZONE
    assert overlay.anchor.h_ellipsoid_m == GROUND_M
    pts = vertices(glb_of(store, overlay.asset))
    assert pts[:, 1].min() == 0.0 and pts[:, 1].max() == pytest.approx(ZONE_HEIGHT_M)
    # The donut is symmetric about (X0, Y0), so its centroid is the anchor.
    np.testing.assert_allclose([pts[:, 0].min(), pts[:, 2].min()], [-30.0, -20.0], atol=1e-3)
    assert miss_m(overlay.anchor, (30.0, 0.0, -20.0), X0 + 30, Y0 + 20) < 0.02
    assert overlay.style["color"] == COLORMAPS["intensity"].hex(0.5)  # middle of band 1
    assert 0 < overlay.style["opacity"] < 1
    assert overlay.properties["zone_id"] == "zone-b1-001"
    assert overlay.properties["rank"] == 2
    assert overlay.properties["dose_l_per_m2"] == 0.25
    assert overlay.properties["area_m2"] == pytest.approx(DONUT.area, abs=1e-4)


def test_zones_from_the_pipeline(store: AssetStore, validate_glb: ValidateGlb) -> None:
    grid = make_grid(X0 - 200.0, Y0 + 200.0, 200, 200)
    zones = remedy_zones(grid, FRAME, TowerIndex(TOWERS, FRAME))
    assert len(zones) >= 3
    overlays = zone_overlays(zones, FRAME, GROUND_M, store)
    assert [o.id for o in overlays] == [f"zone:{z.id}" for z in zones]
    reports = validate_glb([glb_of(store, o.asset) for o in overlays])
    for report in reports:
        assert report["issues"]["numErrors"] == 0, issues(report)
        assert report["issues"]["numWarnings"] == 0, issues(report)


# --- the whole set: messages, validator, determinism, catalog --------------------------


def everything(store: AssetStore) -> list[Overlay]:
    zone = make_zone("zone-b2-001", DONUT, band=2)
    return [
        *tower_overlays(TOWERS, TIER_VALUES, store),
        *heat_overlays(GRID, FRAME, GROUND_M, store),
        *zone_overlays([zone], FRAME, GROUND_M, store),
    ]


@pytest.mark.parametrize("convention", list(Convention))
def test_messages_carry_valid_geoposes(store: AssetStore, convention: Convention) -> None:
    for overlay in everything(store):
        message = overlay_message(overlay, convention)
        assert set(message) == {
            "id", "kind", "layer", "version", "geopose", "pose_frame", "asset", "style",
            "properties", "height_above_ground_m",
        }  # fmt: skip
        assert message["kind"] == overlay.kind.value
        assert message["layer"] == overlay.layer.value  # issue 13 finding 6: documented, sent
        assert message["pose_frame"] == {
            "axes": "ENU" if convention is Convention.GEOPOSE else "EUS",
            "height": "egm2008" if convention is Convention.ARKIT else "ellipsoid",
        }
        assert message["asset"].startswith("/assets/") and message["asset"].endswith(".glb")
        assert_valid_geopose(message["geopose"])
        json.dumps(message, allow_nan=False)


def test_every_overlay_asset_passes_the_validator(
    store: AssetStore, validate_glb: ValidateGlb
) -> None:
    hrefs = sorted({o.asset for o in everything(store)})
    for href, report in zip(hrefs, validate_glb([glb_of(store, h) for h in hrefs]), strict=True):
        assert report["issues"]["numErrors"] == 0, (href, issues(report))
        assert report["issues"]["numWarnings"] == 0, (href, issues(report))


def test_identical_state_gives_identical_assets() -> None:
    first = everything(AssetStore())
    for cached in (builders._tower_marker, builders._tier_ring, builders._heat_patch):
        cached.cache_clear()
    builders._zone_volume.cache_clear()
    second = everything(AssetStore())
    assert [(o.id, o.asset, o.content()) for o in first] == [
        (o.id, o.asset, o.content()) for o in second
    ]


def test_catalog_sends_only_what_changed(store: AssetStore) -> None:
    catalog = OverlayCatalog()
    upserts, _ = catalog.update(everything(store))
    assert {o.version for o in upserts} == {1}
    assert catalog.update(everything(store)) == ([], [])
    changed = dict(TIER_VALUES) | {("T2", 1): (0.9, 0.03)}
    upserts, removes = catalog.update(
        [
            *tower_overlays(TOWERS, changed, store),
            *heat_overlays(GRID, FRAME, GROUND_M, store),
        ]
    )
    assert {o.id: o.version for o in upserts} == {"tower:T2": 2, "tier:T2:1": 2}
    assert removes == ["zone:zone-b2-001"]


def test_zone_polygon_relative_to_anchor_is_not_the_frame_polygon(store: AssetStore) -> None:
    offset = shapely.affinity.translate(DONUT, 500.0, 0.0)
    a, b = (zone_overlays([make_zone("z", p)], FRAME, GROUND_M, store)[0] for p in (DONUT, offset))
    assert a.asset == b.asset  # same shape, same GLB: only the anchor moved
    assert a.anchor != b.anchor


def test_messages_carry_the_height_above_ground(store: AssetStore) -> None:
    """Issue 13, finding 7: no height above ground was sent, so ARCore terrain and
    rooftop anchors could not be used. Markers and zones stand on the ground, rings
    at their tier's height above the tower base, heat patches at their lift."""
    by_id = {o.id: overlay_message(o) for o in everything(store)}
    tower = TOWERS[0]
    assert by_id["tower:T1"]["height_above_ground_m"] == 0.0
    for tier in tower.tiers:
        message = by_id[f"tier:T1:{tier.level}"]
        assert message["height_above_ground_m"] == pytest.approx(tier.height_m)
        ground = message["geopose"]["position"]["h"] - message["height_above_ground_m"]
        assert ground == pytest.approx(tower.base_height_m, abs=1e-3)
    kinds = {m["kind"]: m["height_above_ground_m"] for m in by_id.values()}
    assert kinds["remedy_zone"] == 0.0
    assert kinds["heat_patch"] == pytest.approx(HEAT_LIFT_M)


def test_tower_markers_carry_their_footprint_as_occluder(store: AssetStore) -> None:
    """Issue 13, finding 5: a marker's GLB holds the footprint extruded to the tower's
    height as a depth-only occluder node (the square of T1: 10 m x 10 m)."""
    marker = next(o for o in tower_overlays(TOWERS, TIER_VALUES, store) if o.id == "tower:T1")
    doc = pygltflib.GLTF2.load_from_bytes(glb_of(store, marker.asset))
    (node,) = [n for n in doc.nodes if (n.extras or {}).get("blightmap")]
    mesh = doc.meshes[node.mesh]
    accessors = [doc.accessors[p.attributes.POSITION] for p in mesh.primitives]
    lo = np.min([a.min for a in accessors], axis=0)
    hi = np.max([a.max for a in accessors], axis=0)
    # A UTM square, turned by the meridian convergence (~1.7 deg) in true east-north.
    turn = math.radians(1.7)
    side_m = 10.0 * (math.cos(turn) + math.sin(turn))
    np.testing.assert_allclose(hi - lo, [side_m, TOWERS[0].height_m, side_m], atol=0.02)
