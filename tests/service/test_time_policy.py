"""Issue 11, finding 1: a date before year 1000 must not poison the store.

Before the fix, ``observed_at: 0999-06-01`` was accepted (201) and stored as
``999-06-01...``; the field, towers, zones and tiles answered 500 from then on, also
after a restart. ``0001-01-01`` made the observation listing 503; a treatment applied
in year 999 broke treatments and zones. Now: such times are refused with a 422 naming
the field, the store writes every year zero padded, and a store poisoned the old way
is repaired when the service opens it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import Role, create_key
from service.demo import seed_demo
from service.settings import Settings
from service.state import AppState
from service.store.gpkg import GeoPackageStore
from tests.service.conftest import auth, collection, observation
from tests.service.store.test_store_timestamps import poison_the_old_way
from tests.service.test_treatments_api import treatment

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
TILE = "/tiles/blight/WebMercatorQuad/16/33700/21620.png"


def post_observation(client: TestClient, key: str, observed_at: str) -> Any:
    body = collection([observation(1, observed_at=observed_at)])
    return client.post("/observations", json=body, headers=auth(key))


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "observed_at",
    [
        "0999-06-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC: not even representable
        "9999-12-31T23:59:59-05:00",  # year 10000 in UTC
        "1999-12-31T23:59:59.999Z",  # just before the default earliest time
        "9999-12-31T00:00:00Z",
    ],
)
def test_implausible_observed_at_is_422_naming_the_field(
    observed_at: str, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    r = post_observation(client, keys["sensor"], observed_at)
    assert_refused(r, "features.0.properties.observed_at")
    assert observed_at not in r.text
    assert state.store.counts()["observations"] == 0


@pytest.mark.usefixtures("seeded")
def test_the_range_edges_are_accepted(client: TestClient, keys: dict[str, str]) -> None:
    assert post_observation(client, keys["sensor"], "2000-01-01T00:00:00Z").status_code == 201
    soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    r = client.post(
        "/observations",
        json=collection([observation(2, observed_at=soon)]),
        headers=auth(keys["sensor"]),
    )
    assert r.status_code == 201, r.text


def test_the_earliest_time_and_the_tolerance_are_settings(tmp_path: Path, towers: Any) -> None:
    settings = Settings(
        data_dir=tmp_path,
        earliest_time_utc=datetime(2026, 1, 1, tzinfo=UTC),
        future_tolerance_s=0,
    )
    with TestClient(create_app(settings)) as client:
        state: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
        state.store.upsert_towers(towers)
        key = create_key(state.store, Role.SENSOR)[0]
        r = post_observation(client, key, "2025-12-31T23:59:59Z")
        assert_refused(r, "features.0.properties.observed_at")
        assert "2026-01-01" in r.json()["errors"][0]["reason"]
        ahead = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
        assert_refused(post_observation(client, key, ahead), "features.0.properties.observed_at")
        assert post_observation(client, key, "2026-01-01T00:00:00Z").status_code == 201


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "applied_at", ["0999-06-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "2099-01-01T00:00:00Z"]
)
def test_implausible_applied_at_is_422_naming_the_field(
    applied_at: str, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    r = client.post(
        "/treatments", json=treatment(applied_at=applied_at), headers=auth(keys["planner"])
    )
    assert_refused(r, "properties.applied_at")
    assert state.store.list_treatments() == []


@pytest.fixture
def poisoned_dir(tmp_path: Path) -> Path:
    """The demo store with observations of years 999 and 1 and its treatments moved to
    year 999, written as blightmap wrote them before the fix."""
    data = tmp_path / "data"
    data.mkdir()
    with GeoPackageStore(Settings(data_dir=data).store_path) as store:
        seed_demo(store, seed=7, end=END)
        assert store.list_treatments()
    poison_the_old_way(Settings(data_dir=data).store_path)
    return data


def test_a_poisoned_store_is_repaired_and_everything_serves(poisoned_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=poisoned_dir))) as client:
        field = client.get("/fields/blight")
        assert field.status_code == 200, field.text
        assert field.json()["reference_time"].startswith("2026-11-01T12:00")
        assert client.get("/fields/blight.tif").status_code == 200
        towers = client.get("/collections/towers/items", params={"limit": 100})
        assert towers.status_code == 200 and towers.json()["features"]
        assert client.get("/collections/zones/items").status_code == 200
        tile = client.get(TILE)
        assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")
        listing = client.get("/collections/observations/items", params={"limit": 2})
        assert listing.status_code == 200
        assert [f["properties"]["observed_at"] for f in listing.json()["features"]] == [
            "0001-01-01T00:00:00.000Z",
            "0999-06-01T00:00:00.000Z",
        ]
        treatments = client.get("/collections/treatments/items")
        assert treatments.status_code == 200
        times = {f["properties"]["applied_at"] for f in treatments.json()["features"]}
        assert times == {"0999-06-01T00:00:00.000Z"}


@pytest.mark.parametrize(
    "interval",
    ["0001-01-01T00:00:00+01:00/..", "../9999-12-31T23:59:59-05:00"],
)
def test_a_query_instant_outside_utc_years_is_400_not_500(
    interval: str, client: TestClient
) -> None:
    r = client.get("/collections/observations/items", params={"datetime": interval})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "datetime"


@pytest.mark.parametrize("interval", ["0001-01-01T00:00:00Z/..", "../9999-12-31T23:59:59.9999Z"])
def test_query_instants_at_the_calendar_ends_work(interval: str, client: TestClient) -> None:
    assert client.get("/collections/observations/items", params={"datetime": interval}).is_success
