"""/collections/forecast-fronts: the latest finished forecast's fronts as OGC features."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from shapely.geometry import MultiPolygon, Polygon, shape

from service.auth import Role, create_key
from service.demo import seed_demo
from service.settings import Settings
from service.state import AppState
from tests.conftest import LiveServer
from tests.service.conftest import auth
from tests.service.forecast_jobs import END, make_client, run_job, small_settings

FORECAST = {"horizon_days": 3, "runs": 12, "seed": 2, "threshold": 0.3}
ITEMS = "/collections/forecast-fronts/items"
CLI = (sys.executable, "-m", "service.cli")


@pytest.fixture
def fsettings(tmp_path: Any) -> Settings:
    return small_settings(tmp_path / "data")


@pytest.fixture
def fclient(fsettings: Settings) -> Iterator[TestClient]:
    with make_client(fsettings) as c:
        st: AppState = c.app.state.blightmap  # type: ignore[attr-defined]
        seed_demo(st.store, seed=7, end=END)
        yield c


@pytest.fixture
def planner(fclient: TestClient) -> dict[str, str]:
    st: AppState = fclient.app.state.blightmap  # type: ignore[attr-defined]
    return auth(create_key(st.store, Role.PLANNER)[0])


@pytest.fixture
def forecast(fclient: TestClient, planner: dict[str, str]) -> Any:
    return run_job(fclient, planner, "/forecasts", **FORECAST)


def _validator() -> Draft202012Validator:
    folder = importlib.resources.files("ogctests") / "features/schemas"
    resources = []
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            schema = yaml.safe_load(entry.read_text())
            resource = Resource.from_contents(schema, default_specification=DRAFT202012)
            resources.append((f"urn:{entry.name.removesuffix('.yaml')}", resource))
    main = yaml.safe_load((folder / "featureCollectionGeoJSON.yaml").read_text())
    return Draft202012Validator(main, registry=Registry().with_resources(resources))


def _polygons(feature: dict[str, Any]) -> list[Polygon]:
    geom = shape(feature["geometry"])
    assert isinstance(geom, Polygon | MultiPolygon) and geom.is_valid and not geom.is_empty
    return [geom] if isinstance(geom, Polygon) else list(geom.geoms)


def test_unlisted_and_empty_before_any_forecast(fclient: TestClient) -> None:
    ids = [c["id"] for c in fclient.get("/collections").json()["collections"]]
    assert "forecast-fronts" not in ids  # an empty collection is not offered...
    doc = fclient.get("/collections/forecast-fronts").json()  # ...but it answers
    assert doc["id"] == "forecast-fronts" and doc["itemType"] == "feature"
    r = fclient.get(ITEMS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["features"] == [] and body["numberMatched"] == 0
    _validator().validate(body)


def test_items_are_the_forecasts_fronts_as_valid_rfc7946_geojson(
    fclient: TestClient, forecast: Any, fstate_version: int
) -> None:
    expected = forecast["result"]["fronts"]["features"]
    assert expected, "the demo forecast should have fronts"
    listed = fclient.get("/collections").json()["collections"]
    doc = next(c for c in listed if c["id"] == "forecast-fronts")
    assert doc == fclient.get("/collections/forecast-fronts").json()
    body = fclient.get(ITEMS, params={"limit": 1000}).json()
    _validator().validate(body)
    # one geometry type, as the collection states (a one-part front is a MultiPolygon too)
    assert doc["geometryType"] == "MultiPolygon"
    assert {f["geometry"]["type"] for f in body["features"]} == {"MultiPolygon"}
    # the temporal extent: from the first to the last day a front is valid at
    valid = sorted(f["properties"]["valid_at"] for f in body["features"])
    assert doc["extent"]["temporal"]["interval"] == [[valid[0], valid[-1]]]
    assert valid[0] < valid[-1]
    assert body["numberMatched"] == body["numberReturned"] == len(expected)
    assert sorted((f["properties"]["day"], f["properties"]["level"]) for f in body["features"]) == (
        sorted((f["properties"]["day"], f["properties"]["level"]) for f in expected)
    )
    for feature in body["features"]:
        props = feature["properties"]
        assert props["forecast_id"] == forecast["id"]
        assert props["data_version"] == forecast["data_version"] == fstate_version
        assert 1 <= props["day"] <= 3 and props["level"] in (0.5, 0.9)
        assert feature["id"] == f"{forecast['id']}-d{props['day']}-p{round(props['level'] * 100)}"
        for polygon in _polygons(feature):  # RFC 7946: exterior CCW, holes CW
            assert polygon.exterior.is_ccw
            assert all(not ring.is_ccw for ring in polygon.interiors)
        original = next(
            f
            for f in expected
            if (f["properties"]["day"], f["properties"]["level"]) == (props["day"], props["level"])
        )
        assert shape(feature["geometry"]).equals(shape(original["geometry"]))
    one = body["features"][0]
    item = fclient.get(f"{ITEMS}/{one['id']}").json()
    assert item["id"] == one["id"] and item["properties"] == one["properties"]


@pytest.fixture
def fstate_version(fclient: TestClient) -> int:
    st: AppState = fclient.app.state.blightmap  # type: ignore[attr-defined]
    return st.store.data_version()


@pytest.mark.usefixtures("forecast")
def test_filter_by_day_and_level(fclient: TestClient) -> None:
    everything = fclient.get(ITEMS, params={"limit": 1000}).json()["features"]
    for day in (1, 3):
        got = fclient.get(ITEMS, params={"day": day, "limit": 1000}).json()
        assert got["numberMatched"] == sum(f["properties"]["day"] == day for f in everything)
        assert all(f["properties"]["day"] == day for f in got["features"])
    got = fclient.get(ITEMS, params={"day": 2, "level": 0.5}).json()["features"]
    assert len(got) == sum(
        (f["properties"]["day"], f["properties"]["level"]) == (2, 0.5) for f in everything
    )
    assert all(f["properties"]["level"] == 0.5 for f in got)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"day": "0"}, "day"),
        ({"day": "two"}, "day"),
        ({"level": "x"}, "level"),
        ({"level": "1.5"}, "level"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_are_400_problems_naming_the_parameter(
    fclient: TestClient, params: dict[str, str], name: str
) -> None:
    r = fclient.get(ITEMS, params=params)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert name in [e["field"] for e in r.json()["errors"]]


def test_the_fronts_outlive_a_restart(
    fclient: TestClient, forecast: Any, fsettings: Settings
) -> None:
    before = fclient.get(ITEMS, params={"limit": 1000}).json()["features"]
    with make_client(fsettings) as again:
        after = again.get(ITEMS, params={"limit": 1000}).json()["features"]
    assert after == before and after[0]["properties"]["forecast_id"] == forecast["id"]


def test_a_later_forecast_replaces_the_fronts(
    fclient: TestClient, planner: dict[str, str], forecast: Any
) -> None:
    later = run_job(fclient, planner, "/forecasts", **{**FORECAST, "horizon_days": 2})
    features = fclient.get(ITEMS, params={"limit": 1000}).json()["features"]
    assert {f["properties"]["forecast_id"] for f in features} == {later["id"]}
    assert max(f["properties"]["day"] for f in features) <= 2


@pytest.mark.live
def test_ogc_features_core_passes_with_forecast_fronts_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLIGHTMAP_FORECAST_CALIBRATION_SIMULATIONS", "40")
    monkeypatch.setenv("BLIGHTMAP_FORECAST_SKILL_RUNS", "10")
    server = LiveServer(tmp_path / "data", "--demo")
    server.start(timeout_s=120)
    try:
        made = subprocess.run(
            [*CLI, "keys", "create", "--role", "planner", "--data", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            check=True,
        )
        headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
        r = httpx.post(server.url + "/forecasts", json=FORECAST, headers=headers, timeout=60)
        assert r.status_code == 202, r.text
        for _ in range(1200):
            job = httpx.get(f"{server.url}/forecasts/{r.json()['id']}", headers=headers).json()
            if job["status"] != "queued" and job["status"] != "running":
                break
            time.sleep(0.1)
        assert job["status"] == "done", job
        ids = [c["id"] for c in httpx.get(server.url + "/collections").json()["collections"]]
        assert "forecast-fronts" in ids
        report = tmp_path / "ogc.xml"
        code = (
            "import sys; from ogctests.main import run_ogctests; "
            f"sys.exit(run_ogctests('features/core', {server.url!r}, "
            f"['-q', '-p', 'no:cacheprovider', '--junit-xml={report}', '-W', 'ignore']))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:]
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "1")) == 0
