"""POST /forecasts/compare: two scenarios with common random numbers, towers saved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from service.auth import Role, create_key
from service.demo import seed_demo
from service.state import AppState
from tests.service.conftest import auth
from tests.service.forecast_jobs import END, SMALL, make_client, run_job, small_settings


@pytest.fixture
def cclient(tmp_path: Any) -> Iterator[TestClient]:
    with make_client(small_settings(tmp_path / "data")) as c:
        st: AppState = c.app.state.blightmap  # type: ignore[attr-defined]
        seed_demo(st.store, seed=7, end=END)
        yield c


@pytest.fixture
def planner(cclient: TestClient) -> dict[str, str]:
    st: AppState = cclient.app.state.blightmap  # type: ignore[attr-defined]
    return auth(create_key(st.store, Role.PLANNER)[0])


def _top_zones(client: TestClient, headers: dict[str, str], k: int) -> list[dict[str, Any]]:
    zones = client.get("/collections/zones/items", headers=headers).json()["features"]
    assert zones
    return sorted(zones, key=lambda z: z["properties"]["rank"])[:k]  # 1 = treat first


def _treat(zones: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "treatments": [
            {"day": 0, "zone_id": z["id"], "strain": "B. subtilis", "dose_l_per_m2": 1.0}
            for z in zones
        ]
    }


def test_treating_the_top_zones_saves_towers_where_their_probability_drops(
    cclient: TestClient, planner: dict[str, str]
) -> None:
    zones = _top_zones(cclient, planner, 2)
    request = {**SMALL, "runs": 20, "alternative": _treat(zones)}
    job = run_job(cclient, planner, "/forecasts/compare", **request)
    assert job["kind"] == "compare"
    result = job["result"]
    assert result["common_random_numbers"] is True
    days = result["days"]
    assert [d["day"] for d in days] == [1, 2, 3]
    for d in days:
        for side in ("baseline", "alternative"):
            curve = d[side]
            assert curve["day"] == d["day"]
            assert 0 <= curve["p05"] <= curve["mean"] <= curve["p95"]
        saved = d["towers_saved"]
        assert saved["p05"] <= saved["mean"] <= saved["p95"]
        assert saved["mean"] == pytest.approx(d["baseline"]["mean"] - d["alternative"]["mean"])
    assert sum(d["towers_saved"]["mean"] for d in days) >= 0.0
    features = result["saved"]["features"]
    assert result["towers_saved"] == len(features) > 0  # the demo's worst zones matter
    effect = result["treatment_effect"]
    treated = effect["can_matter"] + effect["already_certain"] + effect["out_of_reach"]
    assert effect["treated_towers"] == len(treated) > 0
    assert effect["summary"]
    towers = {
        f["id"]: f for f in cclient.get("/collections/towers/items?limit=1000").json()["features"]
    }
    assert set(treated) <= set(towers)
    drops = [f["properties"]["drop"] for f in features]
    assert drops == sorted(drops, reverse=True)
    for f in features:
        props = f["properties"]
        assert f["geometry"]["type"] == "Point"
        assert props["drop"] > 0.0
        assert props["probability_alternative"] < props["probability_baseline"]
        assert props["drop"] == pytest.approx(
            props["probability_baseline"] - props["probability_alternative"]
        )
        assert props["drop_by_day"][-1] == pytest.approx(props["drop"])
        footprint = shape(towers[props["tower_id"]]["geometry"])
        assert footprint.buffer(1e-4).contains(Point(f["geometry"]["coordinates"]))


def test_the_baseline_is_the_plain_forecast_with_the_same_seed(
    cclient: TestClient, planner: dict[str, str]
) -> None:
    zones = _top_zones(cclient, planner, 1)
    compared = run_job(cclient, planner, "/forecasts/compare", **SMALL, alternative=_treat(zones))
    plain = run_job(cclient, planner, "/forecasts", **SMALL)["result"]
    assert [d["baseline"] for d in compared["result"]["days"]] == plain["expected_blighted_towers"]
    treated = run_job(cclient, planner, "/forecasts", **SMALL, scenario=_treat(zones))["result"]
    assert [d["alternative"] for d in compared["result"]["days"]] == treated[
        "expected_blighted_towers"
    ]
    assert compared["result"]["calibration"] == plain["calibration"]


def test_a_comparison_has_no_probability_geotiff(
    cclient: TestClient, planner: dict[str, str]
) -> None:
    zones = _top_zones(cclient, planner, 1)
    job = run_job(cclient, planner, "/forecasts/compare", **SMALL, alternative=_treat(zones))
    r = cclient.get(f"/forecasts/{job['id']}/probability.tif", headers=planner)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "alternative"),
        ({"alternative": {"treatments": []}}, "alternative"),  # the same as the baseline
        ({"alternative": {"treatments": []}, "min_drop": 1.5}, "min_drop"),
        ({"alternative": {"treatments": []}, "runs": 0}, "runs"),
        (
            {
                "alternative": {
                    "treatments": [
                        {"day": 0, "zone_id": "zone-none", "strain": "s", "dose_l_per_m2": 1}
                    ]
                }
            },
            "alternative.treatments.0.zone_id",
        ),
        (
            {
                "horizon_days": 2,
                "baseline": {
                    "treatments": [
                        {"day": 4, "zone_id": "zone-none", "strain": "s", "dose_l_per_m2": 1}
                    ]
                },
                "alternative": {"treatments": []},
            },
            "baseline.treatments.0.day",
        ),
    ],
)
def test_bad_comparisons_name_the_field(
    cclient: TestClient, planner: dict[str, str], body: dict[str, Any], field: str
) -> None:
    r = cclient.post("/forecasts/compare", json=body, headers=planner)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


def test_viewers_cannot_compare(cclient: TestClient) -> None:
    st: AppState = cclient.app.state.blightmap  # type: ignore[attr-defined]
    viewer = auth(create_key(st.store, Role.VIEWER)[0])
    r = cclient.post("/forecasts/compare", json={"alternative": {}}, headers=viewer)
    assert r.status_code == 403
