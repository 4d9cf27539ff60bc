"""Forecast jobs over HTTP: 202 + Location, progress, result shape, calibration and
skill, cache, cancel, roles, probability GeoTIFF."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import CRS
from rio_cogeo.cogeo import cog_validate

from geo.demo import demo_towers, simulate_outbreak
from service.auth import Role, create_key
from service.demo import seed_demo
from service.routers.forecasts import MANAGER_KEY
from service.settings import Settings
from service.state import AppState
from service.store import ObservationQuery
from tests.service.conftest import auth
from tests.service.forecast_jobs import END, SMALL, make_client, run_job, small_settings, wait_job

CALIBRATION_PARAMETERS = {"reproductive_rate", "short_scale_m", "long_fraction", "wind_dir_deg"}


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return small_settings(tmp_path / "data")


def _client(settings: Settings) -> TestClient:
    return make_client(settings)


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


def _wait(client: TestClient, job_id: str, headers: dict[str, str]) -> Any:
    return wait_job(client, job_id, headers)


def _run(client: TestClient, headers: dict[str, str], **request: Any) -> Any:
    return run_job(client, headers, "/forecasts", **request)


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
    _check_calibration(result["calibration"], fstate.store.data_version())
    _check_skill(result["skill"])


def _check_calibration(calibration: dict[str, Any], version: int) -> None:
    assert calibration["method"] == "abc-rejection" and calibration["status"] == "fitted"
    assert calibration["data_version"] == version
    assert set(calibration["parameters"]) == CALIBRATION_PARAMETERS
    for name, stats in calibration["parameters"].items():
        low, high = stats["ci90"]
        assert math.isfinite(low) and math.isfinite(high)
        assert low <= stats["median"] <= high
        if name != "wind_dir_deg":  # an angle's plain mean may leave the interval
            assert low <= stats["mean"] <= high
    assert calibration["accepted_particles"] >= 10
    assert 0 < calibration["effective_sample_size"] <= calibration["accepted_particles"]
    assert calibration["n_simulations"] >= 20
    # the demo's two weeks of history, day 1 onwards (day 0 is the starting state)
    assert len(calibration["days_used"]) == 14
    assert calibration["days_used"][-1] == END.date().isoformat()


def _check_skill(skill: dict[str, Any]) -> None:
    assert skill["method"] == "hindcast" and skill["status"] == "computed"
    assert skill["verified_date"] == END.date().isoformat()
    assert [h["horizon_days"] for h in skill["horizons"]] == [1, 3]
    for h in skill["horizons"]:
        scores = h["skill"]
        assert scores["n"] > 0
        for name in ("brier", "brier_persistence", "quantity", "allocation"):
            assert 0.0 <= scores[name] <= 1.0, name
        assert -1.0 <= scores["mcc"] <= 1.0
        for name in ("bss", "auc", "reliability_max_gap"):  # None only when undefined
            assert scores[name] is None or math.isfinite(scores[name]), name
        if scores["bss"] is not None:
            expected = 1.0 - scores["brier"] / scores["brier_persistence"]
            assert scores["bss"] == pytest.approx(expected)
        rel = h["reliability"]
        assert len(rel["edges"]) == len(rel["count"]) + 1
        assert sum(rel["count"]) == scores["n"]


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
        with _client(small_settings(tmp_path / name)) as client:
            st: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
            seed_demo(st.store, seed=7, end=END)
            headers = auth(create_key(st.store, Role.PLANNER)[0])
            results.append(_run(client, headers, **SMALL)["result"])
    stamps = [r["calibration"].pop("computed_at") for r in results]
    assert stamps[0] != stamps[1]  # each app calibrated on its own...
    assert results[0] == results[1]  # ...to the same posterior, skill and forecast


@pytest.mark.usefixtures("demo")
def test_dismiss_a_long_job(fclient: TestClient, planner: dict[str, str]) -> None:
    r = fclient.post("/forecasts", json={"horizon_days": 30, "runs": 1000}, headers=planner)
    job_id = r.json()["id"]
    manager = getattr(fclient.app.state, MANAGER_KEY)  # type: ignore[attr-defined]
    job = manager.get(job_id)
    dismissed = fclient.delete(f"/forecasts/{job_id}", headers=planner)
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert job.cancel.is_set()  # the worker stops at its next check
    assert fclient.get(f"/forecasts/{job_id}", headers=planner).status_code == 404
    assert fclient.delete(f"/forecasts/{job_id}", headers=planner).status_code == 404
    again = fclient.post("/forecasts", json={"horizon_days": 30, "runs": 1000}, headers=planner)
    assert again.json()["id"] != job_id  # a dismissed job is not reused
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
    manager = getattr(fclient.app.state, MANAGER_KEY)  # type: ignore[attr-defined]
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


def _next_day_batch(state: AppState) -> int:
    """Copy the last day's observations one day later; returns how many were added."""
    last = state.store.query_observations(
        ObservationQuery(start=END - timedelta(hours=6), limit=10**6)
    ).items
    later = [
        dataclasses.replace(o, id=f"{o.id}-next", observed_at=o.observed_at + timedelta(days=1))
        for o in last
    ]
    state.store.add_observations(later)
    return len(later)


@pytest.mark.usefixtures("demo")
def test_calibration_is_reused_for_the_same_data_version_and_persisted(
    fclient: TestClient, fstate: AppState, planner: dict[str, str], settings: Settings
) -> None:
    first = _run(fclient, planner, **SMALL)["result"]
    other = _run(fclient, planner, **{**SMALL, "seed": 11})["result"]
    assert other["towers"] != first["towers"]  # another ensemble...
    assert other["calibration"] == first["calibration"]  # ...on the same posterior
    assert other["skill"] == first["skill"]  # and skill, not recomputed
    version = fstate.store.data_version()
    saved = json.loads(
        (settings.data_dir / "forecast-calibration" / f"v{version:012d}.json").read_text()
    )
    assert saved["data_version"] == version and saved["status"] == "fitted"
    assert saved["computed_at"] == first["calibration"]["computed_at"]
    assert saved["skill"]["0.5"] == first["skill"]


@pytest.mark.usefixtures("demo")
def test_a_restart_keeps_the_calibration(
    fclient: TestClient, planner: dict[str, str], settings: Settings
) -> None:
    before = _run(fclient, planner, **SMALL)["result"]
    with _client(settings) as again:
        after = _run(again, planner, **{**SMALL, "seed": 5})["result"]
    assert after["calibration"] == before["calibration"]  # read back, not refitted
    assert after["skill"] == before["skill"]


@pytest.mark.usefixtures("demo")
def test_a_new_day_of_observations_updates_the_posterior(
    fclient: TestClient, fstate: AppState, planner: dict[str, str]
) -> None:
    fitted = _run(fclient, planner, **SMALL)["result"]["calibration"]
    fitted_version = fstate.store.data_version()
    assert _next_day_batch(fstate) > 0
    updated = _run(fclient, planner, **SMALL)["result"]["calibration"]
    assert updated["status"] == "updated" and updated["method"] == "abc-smc-update"
    assert updated["data_version"] == fstate.store.data_version() > fitted_version
    next_day = (END + timedelta(days=1)).date().isoformat()
    assert updated["days_used"] == [next_day]  # the new day only, not a refit
    assert updated["assimilated_through"] == next_day
    assert updated["lineage"] == [
        {
            "data_version": fitted_version,
            "status": "fitted",
            "days": 14,
            "n_simulations": fitted["n_simulations"],
        }
    ]
    assert updated["n_simulations"] < fitted["n_simulations"]
    assert set(updated["parameters"]) == CALIBRATION_PARAMETERS
    for stats in updated["parameters"].values():
        assert stats["ci90"][0] <= stats["median"] <= stats["ci90"][1]


def test_one_day_of_history_forecasts_with_the_prior_defaults(
    fclient: TestClient, fstate: AppState, planner: dict[str, str]
) -> None:
    towers = demo_towers(7)
    history = simulate_outbreak(towers, end=END, seed=11)
    midnight = END.replace(hour=0)
    last_day = [o for o in history.observations if o.observed_at >= midnight]  # one UTC day
    fstate.store.upsert_towers(towers)
    fstate.store.add_observations(last_day)
    result = _run(fclient, planner, **SMALL)["result"]
    calibration = result["calibration"]
    assert calibration["method"] == "defaults" and calibration["status"] == "not calibrated"
    assert "two days" in calibration["reason"]
    assert set(calibration["parameters"]) >= CALIBRATION_PARAMETERS
    assert result["skill"]["status"] == "not computed"
    assert len(result["expected_blighted_towers"]) == 3
    # what it cannot support it says: the spread model, served without any hindcast
    assert [d["verified"] for d in result["served"]] == [False] * 3
    assert all(d["serves"] == "spread" and "no hindcast" in d["reason"] for d in result["served"])


@pytest.mark.usefixtures("demo")
def test_no_new_observed_day_carries_the_posterior_over(
    fclient: TestClient, fstate: AppState, planner: dict[str, str]
) -> None:
    fitted = _run(fclient, planner, **SMALL)["result"]["calibration"]
    first_version = fstate.store.data_version()
    treatment = fstate.store.list_treatments()[0]
    fstate.store.add_treatment(dataclasses.replace(treatment, id="another-spray"))
    carried = _run(fclient, planner, **SMALL)["result"]["calibration"]
    assert carried["data_version"] == fstate.store.data_version() > first_version
    assert carried["status"] == "unchanged" and carried["n_simulations"] == 0
    assert carried["days_used"] == [] and carried["parameters"] == fitted["parameters"]
    assert carried["lineage"][-1]["data_version"] == first_version


@pytest.mark.usefixtures("demo")
def test_probability_geotiff_has_one_band_per_day_on_the_fields_grid(
    fclient: TestClient, planner: dict[str, str], tmp_path: Path
) -> None:
    body = _run(fclient, planner, **SMALL)
    r = fclient.get(f"/forecasts/{body['id']}/probability.tif", headers=planner)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/tiff")
    field = fclient.get("/fields/blight", headers=planner).json()
    tif = tmp_path / "p.tif"
    tif.write_bytes(r.content)
    assert cog_validate(str(tif))[0]  # a valid Cloud-Optimized GeoTIFF
    with rasterio.open(io.BytesIO(r.content)) as ds:
        assert ds.count == 3 and ds.dtypes == ("float32",) * 3
        assert (ds.width, ds.height) == (field["width"], field["height"])
        assert CRS.from_user_input(ds.crs.to_wkt()) == CRS.from_user_input(field["crs"])
        assert tuple(ds.transform)[:6] == pytest.approx(field["transform"])
        assert [ds.tags(b)["day"] for b in (1, 2, 3)] == ["1", "2", "3"]
        assert ds.tags()["forecast_id"] == body["id"]
        assert ds.profile.get("blockxsize") is not None  # tiled, as a COG is
        data = ds.read()
    assert np.nanmin(data) >= 0.0 and np.nanmax(data) <= 1.0
    towers = body["result"]["towers"]
    assert (np.nanmax(data) > 0.0) == any(max(t["probability"]) > 0.0 for t in towers)


@pytest.mark.usefixtures("demo")
def test_probability_geotiff_of_an_unfinished_or_unknown_job(
    fclient: TestClient, planner: dict[str, str]
) -> None:
    r = fclient.post("/forecasts", json={"horizon_days": 30, "runs": 1000}, headers=planner)
    job_id = r.json()["id"]
    tif = fclient.get(f"/forecasts/{job_id}/probability.tif", headers=planner)
    assert tif.status_code == 409
    assert tif.headers["content-type"].startswith("application/problem+json")
    fclient.delete(f"/forecasts/{job_id}", headers=planner)
    assert fclient.get("/forecasts/nope/probability.tif", headers=planner).status_code == 404
