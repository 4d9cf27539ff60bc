"""Forecast jobs over HTTP: 202 + Location, progress, result shape, cache, cancel, roles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import Role, create_key
from service.demo import seed_demo
from service.routers.forecasts import MANAGER_KEY, install_forecasts
from service.settings import Settings
from service.state import AppState
from tests.service.conftest import auth

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
SMALL: dict[str, Any] = {"horizon_days": 3, "runs": 10, "seed": 3}


def _client(settings: Settings) -> TestClient:
    app = create_app(settings)
    if not hasattr(app.state, MANAGER_KEY):  # until create_app installs it itself
        install_forecasts(app, app.state.blightmap)
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def fclient(settings: Settings) -> Iterator[TestClient]:
    with _client(settings) as c:
        yield c


@pytest.fixture
def fstate(fclient: TestClient) -> AppState:
    st: AppState = fclient.app.state.blightmap  # type: ignore[attr-defined]
    return st


@pytest.fixture
def demo(fstate: AppState) -> AppState:
    seed_demo(fstate.store, seed=7, end=END)
    return fstate


@pytest.fixture
def planner(fstate: AppState) -> dict[str, str]:
    return auth(create_key(fstate.store, Role.PLANNER)[0])


def _wait(client: TestClient, job_id: str, headers: dict[str, str], timeout_s: float = 40) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/forecasts/{job_id}", headers=headers).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']}"
        time.sleep(0.1)


def _run(client: TestClient, headers: dict[str, str], **request: Any) -> Any:
    r = client.post("/forecasts", json=request, headers=headers)
    assert r.status_code == 202, r.text
    body = _wait(client, r.json()["id"], headers)
    assert body["status"] == "done", body
    return body


@pytest.mark.usefixtures("demo")
def test_job_runs_to_done_with_the_documented_result(
    fclient: TestClient, fstate: AppState, planner: dict[str, str]
) -> None:
    r = fclient.post("/forecasts", json=SMALL, headers=planner)
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"].endswith(f"/forecasts/{job['id']}")
    assert job["status"] in ("queued", "running") and 0 <= job["progress"] <= 100
    assert job["data_version"] == fstate.store.data_version()
    assert job["request"]["horizon_days"] == 3 and job["request"]["threshold"] == 0.5
    body = _wait(fclient, job["id"], planner)
    assert body["status"] == "done" and body["progress"] == 100
    result = body["result"]
    assert set(result) >= {
        "towers",
        "expected_blighted_towers",
        "fronts",
        "calibration",
        "skill",
    }
    n_towers = len(fstate.towers.current().index.towers)
    assert len(result["towers"]) == n_towers
    for tower in result["towers"]:
        assert set(tower) == {"tower_id", "probability", "tiers"}
        assert len(tower["probability"]) == 3
        assert all(0.0 <= p <= 1.0 for p in tower["probability"])
        for tier in tower["tiers"]:
            assert set(tier) == {"tier", "probability"} and len(tier["probability"]) == 3
            assert all(0.0 <= p <= 1.0 for p in tier["probability"])
    curve = result["expected_blighted_towers"]
    assert [c["day"] for c in curve] == [1, 2, 3]
    assert all(c["p05"] <= c["mean"] <= c["p95"] <= n_towers for c in curve)
    assert result["fronts"]["type"] == "FeatureCollection"
    for feature in result["fronts"]["features"]:
        assert feature["properties"]["level"] in (0.5, 0.9)
        assert 1 <= feature["properties"]["day"] <= 3
    assert result["calibration"]["method"] == "defaults"
    assert "reproductive_rate" in result["calibration"]["parameters"]
    assert result["skill"] == {
        "status": "not computed",
        "reason": "hindcast scoring is not wired yet",
    }


@pytest.mark.usefixtures("demo")
def test_same_request_gives_the_same_job(fclient: TestClient, planner: dict[str, str]) -> None:
    first = fclient.post("/forecasts", json=SMALL, headers=planner)
    again = fclient.post("/forecasts", json=dict(reversed(SMALL.items())), headers=planner)
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    other = fclient.post("/forecasts", json={**SMALL, "seed": 4}, headers=planner)
    assert other.json()["id"] != first.json()["id"]


@pytest.mark.usefixtures("demo")
def test_scenario_treating_the_top_zone_does_not_raise_the_spread(
    fclient: TestClient, planner: dict[str, str]
) -> None:
    zones = fclient.get("/collections/zones/items", headers=planner).json()["features"]
    assert zones
    top = max(zones, key=lambda z: z["properties"].get("priority", 0))["id"]
    plain = _run(fclient, planner, **SMALL)
    scenario = {
        "treatments": [{"day": 0, "zone_id": top, "strain": "B. subtilis", "dose_l_per_m2": 0.5}]
    }
    treated = _run(fclient, planner, **SMALL, scenario=scenario)
    assert treated["id"] != plain["id"]

    def total(body: Any) -> float:
        return sum(c["mean"] for c in body["result"]["expected_blighted_towers"])

    assert total(treated) <= total(plain)


def test_same_seed_in_a_fresh_app_gives_identical_results(tmp_path: Any) -> None:
    results = []
    for name in ("a", "b"):
        with _client(Settings(data_dir=tmp_path / name)) as client:
            st: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
            seed_demo(st.store, seed=7, end=END)
            headers = auth(create_key(st.store, Role.PLANNER)[0])
            results.append(_run(client, headers, **SMALL)["result"])
    assert results[0] == results[1]


@pytest.mark.usefixtures("demo")
def test_cancel_a_long_job(fclient: TestClient, planner: dict[str, str]) -> None:
    r = fclient.post("/forecasts", json={"horizon_days": 30, "runs": 1000}, headers=planner)
    job_id = r.json()["id"]
    cancelled = fclient.delete(f"/forecasts/{job_id}", headers=planner)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert _wait(fclient, job_id, planner)["status"] == "cancelled"
    again = fclient.post("/forecasts", json={"horizon_days": 30, "runs": 1000}, headers=planner)
    assert again.json()["id"] != job_id  # a cancelled job is not reused
    fclient.delete(f"/forecasts/{again.json()['id']}", headers=planner)


def test_unknown_job_is_a_404_problem(fclient: TestClient, planner: dict[str, str]) -> None:
    for method in ("GET", "DELETE"):
        r = fclient.request(method, "/forecasts/nope", headers=planner)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")


def test_no_field_is_a_409_problem(fclient: TestClient, planner: dict[str, str]) -> None:
    r = fclient.post("/forecasts", json=SMALL, headers=planner)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("role", [Role.VIEWER, Role.SENSOR])
def test_roles_without_plan_are_refused(fclient: TestClient, fstate: AppState, role: Role) -> None:
    headers = auth(create_key(fstate.store, role)[0])
    assert fclient.post("/forecasts", json=SMALL, headers=headers).status_code == 403
    assert fclient.post("/forecasts", json=SMALL).status_code == 401
    assert fclient.delete("/forecasts/x", headers=headers).status_code == 403


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"horizon_days": 0}, "horizon_days"),
        ({"runs": 5000}, "runs"),
        ({"threshold": 1.5}, "threshold"),
        ({"bogus": 1}, "bogus"),
        (
            {
                "scenario": {
                    "treatments": [
                        {"day": 0, "zone_id": "zone-b9-999", "strain": "s", "dose_l_per_m2": 0.5}
                    ]
                }
            },
            "scenario.treatments.0.zone_id",
        ),
        (
            {"scenario": {"treatments": [{"day": 0, "strain": "s", "dose_l_per_m2": 0.5}]}},
            "scenario.treatments.0.geometry",
        ),
        (
            {
                "horizon_days": 3,
                "scenario": {
                    "treatments": [{"day": 5, "zone_id": None, "strain": "s", "dose_l_per_m2": 0.5}]
                },
            },
            "scenario.treatments.0.day",
        ),
    ],
)
def test_bad_bodies_name_the_field(
    fclient: TestClient, planner: dict[str, str], body: dict[str, Any], field: str
) -> None:
    r = fclient.post("/forecasts", json=body, headers=planner)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


@pytest.mark.usefixtures("demo")
def test_latest_probability_grids_are_the_finished_forecasts_days(
    fclient: TestClient, fstate: AppState, planner: dict[str, str]
) -> None:
    manager = getattr(fclient.app.state, MANAGER_KEY)
    assert manager.latest_probability_grids() is None
    body = _run(fclient, planner, **SMALL)
    latest = manager.latest_probability_grids()
    assert latest is not None
    job_id, version, grids = latest
    assert job_id == body["id"] and version == fstate.store.data_version()
    field = fclient.get("/fields/blight", headers=planner).json()
    assert len(grids) == 3
    for grid in grids:
        assert grid.values.shape == (field["height"], field["width"])
        assert grid.spec.transform[:6] == tuple(field["transform"])
        assert float(grid.values.min()) >= 0.0 and float(grid.values.max()) <= 1.0
