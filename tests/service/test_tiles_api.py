"""Map tiles over HTTP, checked as an outsider would: decode every tile, compare the
colours with the field's COG through the colormap, validate the TileJSON."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pyproj import Transformer
from rasterio.io import MemoryFile
from scipy.interpolate import RegularGridInterpolator
from shapely.geometry import shape

from geo.colormap import colormap
from geo.grid import Grid
from service.app import create_app
from service.auth import Role, create_key
from service.demo import seed_demo
from service.routers.forecasts import MANAGER_KEY
from service.settings import Settings
from service.state import AppState
from service.tiles import MAX_ZOOM, MIN_ZOOM
from tests.conftest import make_tower
from tests.service.conftest import auth, collection, observation
from tests.service.forecast_jobs import END as FORECAST_END
from tests.service.forecast_jobs import SMALL, make_client, run_job, small_settings

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
WEB = morecantile.tms.get("WebMercatorQuad")
BASE = "http://testserver"

# TileJSON 3.0.0 written from the specification's text (github.com/mapbox/tilejson-spec,
# 3.0.0/README.md): required members, their types and ranges.
TILEJSON_3 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["tilejson", "tiles"],
    "properties": {
        "tilejson": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "tiles": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "uri"}},
        "vector_layers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "fields"],
                "properties": {
                    "id": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "description": {"type": "string"},
                    "minzoom": {"type": "integer", "minimum": 0, "maximum": 30},
                    "maximum": {"type": "integer", "minimum": 0, "maximum": 30},
                },
            },
        },
        "attribution": {"type": "string"},
        "bounds": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "center": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
        "description": {"type": "string"},
        "minzoom": {"type": "integer", "minimum": 0, "maximum": 30},
        "maxzoom": {"type": "integer", "minimum": 0, "maximum": 30},
        "name": {"type": "string"},
        "scheme": {"enum": ["xyz", "tms"]},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
    },
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One demo district for the module (the field is computed once)."""
    data_dir: Path = tmp_path_factory.mktemp("tiles") / "data"
    app = create_app(Settings(data_dir=data_dir, public_url=BASE))
    with TestClient(app, base_url=BASE) as c:
        seed_demo(c.app.state.blightmap.store, seed=7, end=END)  # type: ignore[attr-defined]
        assert c.get("/fields/blight").status_code == 200
        yield c


@pytest.fixture(scope="module")
def state(client: TestClient) -> AppState:
    st: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
    return st


@pytest.fixture(scope="module")
def towers(client: TestClient) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = client.get(
        "/collections/towers/items", params={"limit": 1000}
    ).json()["features"]
    return features


def rgba(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == response.headers["content-type"].split("/")[1].upper()
    return np.asarray(image.convert("RGBA"))


def centroid(feature: dict[str, Any]) -> tuple[float, float]:
    point = shape(feature["geometry"]).centroid
    return point.x, point.y


def pixel_of(tile: morecantile.Tile, lon: float, lat: float, size: int) -> tuple[int, int]:
    b = WEB.xy_bounds(tile)
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    return (
        int((b.top - y) / (b.top - b.bottom) * size),
        int((x - b.left) / (b.right - b.left) * size),
    )


def test_pixel_over_a_tower_is_its_field_value_through_the_colormap(
    client: TestClient, towers: list[dict[str, Any]]
) -> None:
    """The reference is the field's own COG, read with rasterio and interpolated by scipy."""
    with MemoryFile(client.get("/fields/blight.tif").content) as mem, mem.open() as cog:
        values = cog.read(1).astype(np.float64)
        transform, crs = cog.transform, cog.crs
    xs = transform.c + (np.arange(values.shape[1]) + 0.5) * transform.a
    ys = transform.f + (np.arange(values.shape[0]) + 0.5) * transform.e
    field = RegularGridInterpolator((ys[::-1], xs), values[::-1], bounds_error=False)
    to_utm = Transformer.from_crs(4326, crs.to_wkt(), always_xy=True)
    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    for feature in towers[:8]:
        lon, lat = centroid(feature)
        tile = WEB.tile(lon, lat, 19)
        row, col = pixel_of(tile, lon, lat, 256)
        pixels = rgba(client.get(f"/tiles/blight/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"))
        b = WEB.xy_bounds(tile)
        px = b.left + (col + 0.5) * (b.right - b.left) / 256
        py = b.top - (row + 0.5) * (b.top - b.bottom) / 256
        x, y = to_utm.transform(*to_lonlat.transform(px, py))
        expected_value = float(field((y, x)))
        assert np.isfinite(expected_value) and pixels[row, col, 3] == 255
        lut = colormap("intensity")
        # the COG holds float32 and our pixel positions float32 offsets: within 1e-4 of a
        # colormap step, the neighbouring entry is as right
        candidates = lut.rgba([expected_value - 1e-4, expected_value, expected_value + 1e-4])
        assert any(np.array_equal(pixels[row, col], c) for c in candidates), feature["id"]


def test_outside_the_district_is_a_transparent_tile(client: TestClient) -> None:
    tile = WEB.tile(-74.0, 40.7, 15)
    for fmt in ("png", "webp"):
        r = client.get(f"/tiles/uncertainty/WebMercatorQuad/15/{tile.x}/{tile.y}.{fmt}")
        pixels = rgba(r)
        assert pixels.shape == (256, 256, 4) and not pixels[..., 3].any()


@pytest.mark.parametrize("fmt", ["png", "webp"])
@pytest.mark.parametrize("size", [256, 512])
def test_sizes_and_formats_decode(
    client: TestClient, towers: list[dict[str, Any]], fmt: str, size: int
) -> None:
    tile = WEB.tile(*centroid(towers[0]), 16)
    url = f"/tiles/blight/WebMercatorQuad/16/{tile.x}/{tile.y}.{fmt}"
    r = client.get(url, params={"tilesize": size} if size != 256 else {})
    assert r.headers["content-type"] == f"image/{fmt}"
    pixels = rgba(r)
    assert pixels.shape == (size, size, 4)
    assert (pixels[..., 3] == 255).sum() > size * size // 4  # the district covers it


def test_uncertainty_colours_are_the_uncertainty_colormap(
    client: TestClient, towers: list[dict[str, Any]]
) -> None:
    tile = WEB.tile(*centroid(towers[0]), 17)
    pixels = rgba(client.get(f"/tiles/uncertainty/WebMercatorQuad/17/{tile.x}/{tile.y}.png"))
    opaque = pixels[pixels[..., 3] == 255]
    lut = {tuple(c) for c in colormap("uncertainty").lut.tolist()}
    assert len(opaque) > 1000 and all(tuple(p) in lut for p in opaque[::97].tolist())


def test_vector_tiles_hold_the_towers_and_zones_with_properties(
    client: TestClient, towers: list[dict[str, Any]]
) -> None:
    feature = towers[0]
    tile = WEB.tile(*centroid(feature), 16)
    r = client.get(f"/tiles/towers/WebMercatorQuad/16/{tile.x}/{tile.y}.mvt")
    assert (
        r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    decoded = mapbox_vector_tile.decode(r.content)
    found = {f["properties"]["id"]: f["properties"] for f in decoded["towers"]["features"]}
    props = found[feature["id"]]
    assert props["intensity_max"] == pytest.approx(feature["properties"]["intensity_max"], abs=1e-4)
    assert props["tiers"] == len(feature["properties"]["tiers"])

    zones = client.get("/collections/zones/items", params={"limit": 1000}).json()["features"]
    zone = next(z for z in zones if z["properties"]["rank"] == 1)
    point = shape(zone["geometry"]).representative_point()
    tile = WEB.tile(point.x, point.y, 16)
    decoded = mapbox_vector_tile.decode(
        client.get(f"/tiles/zones/WebMercatorQuad/16/{tile.x}/{tile.y}.mvt").content
    )
    by_id = {f["properties"]["id"]: f for f in decoded["zones"]["features"]}
    got = by_id[zone["id"]]
    assert got["geometry"]["type"] in ("Polygon", "MultiPolygon")
    for key in ("rank", "band", "dose_l_per_m2"):
        assert got["properties"][key] == pytest.approx(zone["properties"][key], abs=1e-4)


def test_tilejson_validates_and_its_urls_work(
    client: TestClient, towers: list[dict[str, Any]]
) -> None:
    checker = jsonschema.Draft202012Validator(
        TILEJSON_3, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for layer in ("blight", "uncertainty", "towers", "zones"):
        body = client.get(f"/tiles/{layer}/WebMercatorQuad/tilejson.json").json()
        checker.validate(body)
        assert body["minzoom"] == MIN_ZOOM and body["maxzoom"] == MAX_ZOOM
        template = body["tiles"][0]
        assert template.startswith(f"{BASE}/tiles/{layer}/WebMercatorQuad/")
        west, south, east, north = body["bounds"]
        for feature in towers:
            lon, lat = centroid(feature)
            assert west < lon < east and south < lat < north
        assert west < body["center"][0] < east and MIN_ZOOM <= body["center"][2] <= MAX_ZOOM
        lon, lat = centroid(towers[0])
        tile = WEB.tile(lon, lat, 16)
        url = template.format(z=16, x=tile.x, y=tile.y).removeprefix(BASE)
        assert client.get(url).status_code == 200
        if layer in ("towers", "zones"):
            (vector_layer,) = body["vector_layers"]
            assert vector_layer["id"] == layer and "id" in vector_layer["fields"]
            decoded = mapbox_vector_tile.decode(client.get(url).content)
            for feature in decoded.get(layer, {"features": []})["features"]:
                assert set(feature["properties"]) <= set(vector_layer["fields"])
        else:
            assert "vector_layers" not in body
            assert body["blightmap:legend"] == f"{BASE}/legend/{layer}.json"


def test_tilejson_carries_size_and_format(client: TestClient) -> None:
    body = client.get(
        "/tiles/blight/WebMercatorQuad/tilejson.json", params={"tilesize": 512, "format": "webp"}
    ).json()
    assert body["tiles"][0].endswith("/{z}/{x}/{y}.webp?tilesize=512")


def test_etag_304_and_cache_control_only_on_200(
    client: TestClient, towers: list[dict[str, Any]]
) -> None:
    tile = WEB.tile(*centroid(towers[0]), 16)
    url = f"/tiles/blight/WebMercatorQuad/16/{tile.x}/{tile.y}.png"
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.status_code == 200 and "max-age" in first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and "cache-control" not in again.headers
    others = {
        client.get(url, params={"tilesize": 512}).headers["etag"],
        client.get(url.replace(".png", ".webp")).headers["etag"],
        client.get(url.replace("/blight/", "/uncertainty/")).headers["etag"],
        client.get(url.replace(f"/{tile.x}/", f"/{tile.x + 1}/")).headers["etag"],
    }
    assert etag not in others and len(others) == 4
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    bad = client.get("/tiles/blight/WebMercatorQuad/9/0/0.png")
    assert bad.status_code == 404 and "cache-control" not in bad.headers


def test_etag_follows_the_data_version(
    client: TestClient, state: AppState, towers: list[dict[str, Any]]
) -> None:
    tile = WEB.tile(*centroid(towers[0]), 16)
    url = f"/tiles/blight/WebMercatorQuad/16/{tile.x}/{tile.y}.png"
    version = state.store.data_version()
    first = client.get(url)
    etag = first.headers["etag"]
    assert f"-v{version}-" in etag
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    # new data: the cached tile is stale, the same request renders the new field
    lon, lat = centroid(towers[0])
    sensor = auth(create_key(state.store, Role.SENSOR)[0])
    new = observation(9001, lon=lon, lat=lat, intensity=1.0, observed_at="2026-11-01T12:00:00Z")
    posted = client.post("/observations", json=collection([new]), headers=sensor)
    assert posted.status_code == 201, posted.text
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert f"-v{state.store.data_version()}-" in again.headers["etag"]
    assert again.content != first.content


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/tiles/heat/WebMercatorQuad/16/33700/21600.png", {}, 404, "layer"),
        ("/tiles/blight/GoogleMaps/16/33700/21600.png", {}, 404, "tileMatrixSetId"),
        ("/tiles/blight/WebMercatorQuad/16/33700/21600.mvt", {}, 404, "format"),
        ("/tiles/blight/WebMercatorQuad/16/33700/21600.jpg", {}, 404, "format"),
        ("/tiles/towers/WebMercatorQuad/16/33700/21600.png", {}, 404, "format"),
        ("/tiles/blight/WebMercatorQuad/9/0/0.png", {}, 404, "z"),
        ("/tiles/blight/WebMercatorQuad/22/0/0.png", {}, 404, "z"),
        ("/tiles/blight/WebMercatorQuad/16/65536/0.png", {}, 404, "x"),
        ("/tiles/blight/WebMercatorQuad/16/0/65536.png", {}, 404, "y"),
        ("/tiles/blight/WebMercatorQuad/16/-1/0.png", {}, 404, "x"),
        ("/tiles/blight/WebMercatorQuad/16/0/0.png", {"tilesize": "300"}, 400, "tilesize"),
        ("/tiles/blight/WebMercatorQuad/16/0/0.png", {"tilesize": "big"}, 400, "tilesize"),
        ("/tiles/towers/WebMercatorQuad/16/0/0.mvt", {"tilesize": "512"}, 400, "tilesize"),
        ("/tiles/blight/WebMercatorQuad/16/0/0.png", {"day": "2"}, 400, "day"),
        ("/tiles/blight/WebMercatorQuad/16/0/0.png", {"colormap": "jet"}, 400, "colormap"),
        ("/tiles/blight/WebMercatorQuad/sixteen/0/0.png", {}, 400, "path.z"),
        ("/tiles/forecast/WebMercatorQuad/16/0/0.png", {}, 404, None),
        ("/tiles/blight/Nope/tilejson.json", {}, 404, "tileMatrixSetId"),
        ("/tiles/heat/WebMercatorQuad/tilejson.json", {}, 404, "layer"),
        ("/tiles/blight/WebMercatorQuad/tilejson.json", {"format": "mvt"}, 400, "format"),
        ("/tiles/blight/WebMercatorQuad/tilejson.json", {"tilesize": "1024"}, 400, "tilesize"),
    ],
)
def test_bad_tile_requests_are_problems_naming_the_field(
    client: TestClient, path: str, params: dict[str, str], status: int, field: str | None
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and "cache-control" not in r.headers
    if field is None:
        assert "no forecast yet" in body["detail"]
    else:
        assert [e["field"] for e in body["errors"]] == [field]


class Probabilities:
    """A finished forecast as the tiles read it (the ProbabilitySource protocol)."""

    def __init__(self, grids: list[Grid]) -> None:
        self.grids = grids

    def latest_probability_grids(self) -> tuple[str, int, list[Grid]] | None:
        return "f-test", 1, self.grids


def test_forecast_layer_shows_the_day_asked_for(
    client: TestClient, state: AppState, towers: list[dict[str, Any]]
) -> None:
    spec = state.fields.latest.result.grid.spec  # type: ignore[union-attr]
    grids = [Grid(spec, np.full(spec.shape, p), np.zeros(spec.shape)) for p in (0.1, 0.5, 0.9)]
    app_state = client.app.state  # type: ignore[attr-defined]
    real = getattr(app_state, MANAGER_KEY)
    setattr(app_state, MANAGER_KEY, Probabilities(grids))
    try:
        body = client.get("/tiles/forecast/WebMercatorQuad/tilejson.json").json()
        assert body["blightmap:days"] == [1, 2, 3] and body["blightmap:forecast_id"] == "f-test"
        tile = WEB.tile(*centroid(towers[0]), 16)
        url = f"/tiles/forecast/WebMercatorQuad/16/{tile.x}/{tile.y}.png"
        for day, p in ((1, 0.1), (3, 0.9)):
            pixels = rgba(client.get(url, params={"day": day}))
            assert np.array_equal(pixels[128, 128], colormap("probability").rgba(p))
        assert np.array_equal(rgba(client.get(url))[128, 128], colormap("probability").rgba(0.1))
        for bad in ("0", "4", "x"):
            r = client.get(url, params={"day": bad})
            assert r.status_code == 400 and r.json()["errors"][0]["field"] == "day"
    finally:
        setattr(app_state, MANAGER_KEY, real)


def test_limits_and_parameters_are_in_the_openapi_description(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    operation = doc["paths"]["/tiles/{layer}/{tileMatrixSetId}/{z}/{x}/{y}.{format}"]["get"]
    assert f"Zoom levels {MIN_ZOOM} to {MAX_ZOOM}" in operation["description"]
    assert "256 or 512 px" in operation["description"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"layer", "tileMatrixSetId", "z", "x", "y", "format", "tilesize", "day"} <= names


def test_forecast_tiles_from_a_real_forecast_job(tmp_path: Path) -> None:
    """A finished forecast job (worker process, small budget) feeds the forecast layer."""
    with make_client(small_settings(tmp_path / "data")) as fclient:
        st: AppState = fclient.app.state.blightmap  # type: ignore[attr-defined]
        seed_demo(st.store, seed=7, end=FORECAST_END)
        planner = auth(create_key(st.store, Role.PLANNER)[0])
        assert fclient.get("/tiles/forecast/WebMercatorQuad/tilejson.json").status_code == 404
        job = run_job(fclient, planner, "/forecasts", **SMALL)
        body = fclient.get("/tiles/forecast/WebMercatorQuad/tilejson.json").json()
        assert body["blightmap:forecast_id"] == job["id"]
        assert body["blightmap:days"] == list(range(1, SMALL["horizon_days"] + 1))
        found = getattr(fclient.app.state, MANAGER_KEY).latest_probability_grids()  # type: ignore[attr-defined]
        grid = found[2][1]  # day 2
        xs, ys = grid.spec.cell_centres()
        field = RegularGridInterpolator((ys[::-1], xs), grid.values[::-1], bounds_error=False)
        tower = st.towers.current().index.towers[0]
        lon, lat = tower.centroid_lonlat
        tile = WEB.tile(lon, lat, 18)
        url = f"/tiles/forecast/WebMercatorQuad/18/{tile.x}/{tile.y}.png"
        r = fclient.get(url, params={"day": 2})
        pixels = rgba(r)
        row, col = pixel_of(tile, lon, lat, 256)
        b = WEB.xy_bounds(tile)
        px = b.left + (col + 0.5) * (b.right - b.left) / 256
        py = b.top - (row + 0.5) * (b.top - b.bottom) / 256
        to_grid = Transformer.from_crs(3857, grid.spec.crs, always_xy=True)
        x, y = to_grid.transform(px, py)
        value = float(field((y, x)))
        assert np.isfinite(value) and pixels[row, col, 3] == 255
        # our pixel positions carry float32 offsets (1e-5 of a cell): at a colormap step
        # the neighbouring entry is as right
        candidates = colormap("probability").rgba([value - 1e-4, value, value + 1e-4])
        assert any(np.array_equal(pixels[row, col], c) for c in candidates)
        other = fclient.get(url, params={"day": 3})
        assert other.headers["etag"] != r.headers["etag"]
        bad = fclient.get(url, params={"day": SMALL["horizon_days"] + 1})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "day"


def test_world_crs84_quad_tiles_and_tilejson(
    client: TestClient, towers: list[dict[str, Any]]
) -> None:
    crs84 = morecantile.tms.get("WorldCRS84Quad")
    lon, lat = centroid(towers[0])
    tile = crs84.tile(lon, lat, 17)
    pixels = rgba(client.get(f"/tiles/blight/WorldCRS84Quad/17/{tile.x}/{tile.y}.png"))
    b = crs84.xy_bounds(tile)  # degrees, longitude first
    row = int((b.top - lat) / (b.top - b.bottom) * 256)
    col = int((lon - b.left) / (b.right - b.left) * 256)
    assert pixels[row, col, 3] == 255
    body = client.get("/tiles/zones/WorldCRS84Quad/tilejson.json").json()
    assert body["tiles"][0] == f"{BASE}/tiles/zones/WorldCRS84Quad/{{z}}/{{x}}/{{y}}.mvt"


def test_vector_tile_outside_the_district_is_empty(client: TestClient) -> None:
    tile = WEB.tile(-74.0, 40.7, 15)
    r = client.get(f"/tiles/towers/WebMercatorQuad/15/{tile.x}/{tile.y}.mvt")
    assert r.status_code == 200 and mapbox_vector_tile.decode(r.content) == {}


def test_before_a_field_towers_still_tile_and_rasters_are_409(
    tmp_path: Path, towers: list[dict[str, Any]]
) -> None:
    with make_client(Settings(data_dir=tmp_path / "data")) as fresh:
        st: AppState = fresh.app.state.blightmap  # type: ignore[attr-defined]
        assert fresh.get("/tiles/towers/WebMercatorQuad/tilejson.json").status_code == 404
        st.store.upsert_towers([make_tower(i) for i in range(3)])
        lon, lat = st.towers.current().index.towers[0].centroid_lonlat
        tile = WEB.tile(lon, lat, 16)
        r = fresh.get(f"/tiles/towers/WebMercatorQuad/16/{tile.x}/{tile.y}.mvt")
        (feature, *_) = mapbox_vector_tile.decode(r.content)["towers"]["features"]
        assert (
            "intensity_max" not in feature["properties"]
            and "field_version" not in (feature["properties"])
        )
        zones = fresh.get(f"/tiles/zones/WebMercatorQuad/16/{tile.x}/{tile.y}.mvt")
        assert zones.status_code == 200 and mapbox_vector_tile.decode(zones.content) == {}
        body = fresh.get("/tiles/towers/WebMercatorQuad/tilejson.json").json()
        west, south, east, north = body["bounds"]
        assert west <= lon <= east and south <= lat <= north
        raster = fresh.get(f"/tiles/blight/WebMercatorQuad/16/{tile.x}/{tile.y}.png")
        assert raster.status_code == 409 and "cache-control" not in raster.headers
