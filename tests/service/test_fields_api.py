"""The blight field over HTTP: metadata, the COG, positions, towers' tier values, zones."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import CRS
from rasterio.io import MemoryFile

from geo.grid import GridSpec
from geo.interpolate import Samples, interpolate
from service.demo import seed_demo
from service.fields import field_samples
from service.state import AppState
from tests.service.conftest import auth, collection, observation

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def demo(state: AppState) -> AppState:
    seed_demo(state.store, seed=7, end=END)
    return state


@pytest.mark.usefixtures("demo")
def test_metadata_names_method_scores_and_version(client: TestClient, state: AppState) -> None:
    body = client.get("/fields/blight").json()
    assert body["method"] in ("idw", "kriging")
    assert body["data_version"] == state.store.data_version()
    assert body["crs"] == "EPSG:32631"
    cv = body["cross_validation"][body["method"]]
    assert 0 <= cv["rmse"] < 0.3 and cv["n"] == body["n_samples"]
    assert body["reference_time"].startswith("2026-11-01T12:00")
    w, s, e, n = body["bbox_wgs84"]
    assert 5.10 < w < e < 5.14 and 52.08 < s < n < 52.10


@pytest.mark.usefixtures("demo")
def test_etag_gives_304(client: TestClient) -> None:
    first = client.get("/fields/blight")
    again = client.get("/fields/blight", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.usefixtures("demo")
def test_cog_has_two_bands_and_the_metadata_georeferencing(client: TestClient) -> None:
    meta = client.get("/fields/blight").json()
    r = client.get("/fields/blight.tif")
    assert r.headers["content-type"].startswith("image/tiff")
    with MemoryFile(r.content) as mem, mem.open() as ds:
        assert ds.count == 2 and ds.dtypes == ("float32", "float32")
        assert ds.crs.to_epsg() == 32631
        assert ds.descriptions == ("intensity", "std_error")
        assert list(ds.transform)[:6] == pytest.approx(meta["transform"])
        assert (ds.width, ds.height) == (meta["width"], meta["height"])
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"  # GDAL's COG layout marker
        values, se = ds.read(1), ds.read(2)
        assert np.nanmin(values) >= 0.0 and np.nanmax(values) <= 1.0  # intensities, as legends say
        assert np.nanmin(se) >= 0
        assert ds.tags()["data_version"] == str(meta["data_version"])


@pytest.mark.usefixtures("demo")
def test_tower_tiers_carry_intensity_and_error(client: TestClient, state: AppState) -> None:
    body = client.get("/collections/towers/items", params={"limit": 100}).json()
    snapshot = state.fields.latest
    assert snapshot is not None
    for feature in body["features"]:
        tiers = feature["properties"]["tiers"]
        assert all(t["std_error"] >= 0 and 0.0 <= t["intensity"] <= 1.0 for t in tiers)
        key = (feature["id"], tiers[-1]["level"])
        assert tiers[-1]["intensity"] == pytest.approx(snapshot.tier_values[key][0], abs=1e-4)


@pytest.mark.usefixtures("demo")
def test_position_matches_the_grid(client: TestClient, state: AppState) -> None:
    tower = state.towers.current().index.towers[0]
    lon, lat = tower.centroid_lonlat
    r = client.get("/fields/blight/position", params={"coords": f"POINT({lon} {lat})"})
    props = r.json()["features"][0]["properties"]
    snapshot = state.fields.latest
    assert snapshot is not None
    x, y = snapshot.frame.to_local(lon, lat)
    expected, _ = snapshot.result.grid.sample(np.array([x]), np.array([y]))
    assert props["intensity"] == pytest.approx(float(expected[0]))
    assert props["std_error"] >= 0


@pytest.mark.usefixtures("demo")
def test_many_positions_by_form(client: TestClient) -> None:
    wkt = "MULTIPOINT((5.1214 52.0907), (5.1230 52.0912), (4.0 51.0))"
    body = client.post("/fields/blight/position", data={"coords": wkt}).json()
    assert len(body["features"]) == 3
    assert body["features"][2]["properties"]["intensity"] is None  # far outside the grid
    assert all(
        not (isinstance(v, float) and math.isnan(v))
        for f in body["features"]
        for v in f["properties"].values()
    )


@pytest.mark.parametrize(
    "coords", ["POINT(5.12)", "LINESTRING(0 0, 1 1)", "POINT(200 52)", "nonsense"]
)
@pytest.mark.usefixtures("demo")
def test_bad_position_is_400(client: TestClient, coords: str) -> None:
    r = client.get("/fields/blight/position", params={"coords": coords})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "coords"


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    "path, params",
    [
        ("/fields/blight/position", {"coords": "POINT(5.1214 52.0907)", "crs": "foo"}),
        ("/fields/blight", {"method": "idw"}),
        ("/fields/blight.tif", {"band": "1"}),
    ],
)
def test_unknown_query_parameters_are_400_not_ignored(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    # crs=foo on a position query used to be ignored: the answer was in WGS84 regardless
    r = client.get(path, params=params)
    unknown = next(name for name in params if name not in ("coords",))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == unknown


def test_too_few_observations_is_a_409_problem(
    client: TestClient, seeded: Any, keys: dict[str, str]
) -> None:
    client.post("/observations", json=collection([observation(1)]), headers=auth(keys["sensor"]))
    r = client.get("/fields/blight")
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "observations"
    towers = client.get("/collections/towers/items").json()
    assert "intensity" not in towers["features"][0]["properties"]["tiers"][0]


@pytest.mark.usefixtures("demo")
def test_identical_values_fall_back_and_say_so(
    client: TestClient, state: AppState, keys: dict[str, str]
) -> None:
    feats = [
        observation(
            i,
            lon=5.115 + 0.001 * (i % 10),
            lat=52.088 + 0.001 * (i // 10),
            intensity=0.3,
            observed_at="2026-11-15T10:00:00Z",
        )
        for i in range(30)
    ]
    client.post("/observations", json=collection(feats), headers=auth(keys["admin"]))
    # the newest observations set the window's reference time; the demo history is now
    # outside the 7-day window, so only the 30 identical values remain
    body = client.get("/fields/blight").json()
    assert body["n_samples"] == 30
    cog = client.get("/fields/blight.tif").content
    with MemoryFile(cog) as mem, mem.open() as ds:
        assert np.nanmax(np.abs(ds.read(1) - 0.3)) < 1e-6


@pytest.mark.usefixtures("demo")
def test_zones_are_valid_features_ranked_by_priority(client: TestClient) -> None:
    body = client.get("/collections/zones/items", params={"limit": 100}).json()
    assert body["numberMatched"] >= 1
    ranks = [f["properties"]["rank"] for f in body["features"]]
    assert sorted(ranks) == list(range(1, len(ranks) + 1))
    for f in body["features"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert f["properties"]["dose_l_per_m2"] > 0 and f["properties"]["area_m2"] > 0


@pytest.mark.usefixtures("demo")
def test_new_observations_move_the_field_version(client: TestClient, keys: dict[str, str]) -> None:
    before = client.get("/fields/blight").json()["data_version"]
    feat = observation(
        5000, lon=5.1214, lat=52.0907, observed_at="2026-11-01T11:00:00Z", intensity=0.9
    )
    client.post("/observations", json=collection([feat]), headers=auth(keys["sensor"]))
    after = client.get("/fields/blight").json()["data_version"]
    assert after == before + 1


def test_treated_ground_shows_on_zones(
    client: TestClient, state: AppState, keys: dict[str, str]
) -> None:
    seed_demo(state.store, seed=7, end=datetime.now(UTC).replace(microsecond=0))
    zones = client.get("/collections/zones/items", params={"limit": 100}).json()["features"]
    # the demo's planners sprayed 30 m around the two worst towers this morning
    treated = [z for z in zones if z["properties"]["treated_protection"] > 0]
    assert treated, "the morning's treatments overlap the worst zones"
    assert all(0 <= z["properties"]["treated_protection"] <= 0.9 for z in zones)
    untreated = [z for z in zones if not z["properties"]["treated"]]
    assert all(z["properties"]["treated_protection"] < 0.5 for z in untreated)


def largest_step(samples: Samples, method: str, height_m: float) -> tuple[float, str]:
    """Largest change between points 2 cm apart on a line across the district."""
    x0, x1 = float(samples.x_m.min()), float(samples.x_m.max())
    xs = np.arange(x0, x1, 0.02)
    line = np.column_stack(
        (xs, np.full(xs.size, float(np.median(samples.y_m))), np.full(xs.size, height_m))
    )
    spec = GridSpec.covering(CRS.from_epsg(32631), (x0, x0, x0 + 5.0, x0 + 5.0), 5.0)
    result = interpolate(samples, spec, line, method=method)
    return float(np.abs(np.diff(result.targets_value)).max()), str(result.parameters.get("solve"))


@pytest.mark.usefixtures("demo")
def test_the_served_demo_field_has_no_seams(client: TestClient, state: AppState) -> None:
    body = client.get("/fields/blight").json()
    assert body["method"] == "kriging" and body["parameters"]["solve"] == "global"
    samples = field_samples(state.store, state.towers.current(), state.settings)
    height = body["parameters"]["grid_height_m"]
    served, solve = largest_step(samples, "auto", height)
    moving, _ = largest_step(samples, "kriging-local", height)
    assert solve == "global"  # the global solve itself: every point sees every sample
    assert served < 5e-3, served  # continuous: 2 cm steps are tiny
    assert moving > 10 * served, (moving, served)  # the moving window's seams are not


@pytest.mark.usefixtures("demo")
def test_one_new_observation_neither_flips_the_method_nor_zeroes_the_errors(
    client: TestClient, state: AppState, keys: dict[str, str]
) -> None:
    before = client.get("/fields/blight").json()
    se_before = np.array([v[1] for v in state.fields.latest.tier_values.values()])  # type: ignore[union-attr]
    tower = state.towers.current().index.towers[3]
    lon, lat = tower.centroid_lonlat
    feat = observation(6000, lon=lon, lat=lat, observed_at="2026-11-01T11:30:00Z", intensity=0.8)
    client.post("/observations", json=collection([feat]), headers=auth(keys["sensor"]))
    after = client.get("/fields/blight").json()
    assert after["data_version"] == before["data_version"] + 1
    assert after["method"] == before["method"] == "kriging"
    snapshot = state.fields.latest
    assert snapshot is not None
    se_after = np.array([v[1] for v in snapshot.tier_values.values()])
    assert 0.5 < np.median(se_after) / np.median(se_before) < 2.0
    # No other tower's tier loses its error (a tier the new reading lands on is now
    # observed; with no nugget, kriging is exact at its samples).
    others = np.array([tid != tower.id for tid, _ in snapshot.tier_values])
    collapsed = others & (se_before > 1e-3) & (se_after < 0.5 * se_before)
    assert not collapsed.any(), (se_before[collapsed], se_after[collapsed])
