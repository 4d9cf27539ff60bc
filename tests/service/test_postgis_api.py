"""The HTTP API on the PostGIS store: the same answers as on the embedded GeoPackage
(idempotent batches, the 409 naming the stored digest, bbox queries, /healthz), and bad
input PostgreSQL would refuse is a 4xx, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geo.layer import Tower
from geo.observations import observation_digest
from service.app import create_app
from service.auth import Role, create_key
from service.settings import Settings
from tests.conftest import make_tower
from tests.postgis import postgis_schema
from tests.service.conftest import auth, collection, observation


@pytest.fixture
def pg_client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on a fresh PostGIS schema."""
    with postgis_schema("bm_api") as (url, schema):
        settings = Settings(
            data_dir=tmp_path,
            public_url="http://testserver",
            database_url=url,
            database_schema=schema,
        )
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            yield client


@pytest.fixture
def pg_keys(pg_client: TestClient) -> dict[str, str]:
    store = pg_client.app.state.blightmap.store  # type: ignore[attr-defined]
    store.upsert_towers([make_tower(i) for i in range(4)])
    return {role.value: create_key(store, role)[0] for role in Role}


def test_health_names_the_backend(pg_client: TestClient, pg_keys: dict[str, str]) -> None:
    body = pg_client.get("/healthz", headers=auth(pg_keys["admin"])).json()
    assert body["store"]["kind"] == "postgis"
    assert body["store"]["location"] == "127.0.0.1:5432/test"
    assert body["counts"] == {"towers": 4, "observations": 0, "keys": len(Role)}


def test_batches_are_idempotent_and_conflicts_are_409(
    pg_client: TestClient, pg_keys: dict[str, str]
) -> None:
    sensor = auth(pg_keys["sensor"])
    batch = collection([observation(i) for i in range(5)])
    first = pg_client.post("/observations", json=batch, headers=sensor)
    assert first.status_code in (200, 201), first.text
    assert (first.json()["new"], first.json()["known"]) == (5, 0)
    again = pg_client.post("/observations", json=batch, headers=sensor).json()
    assert (again["new"], again["known"]) == (0, 5)
    assert again["data_version"] == first.json()["data_version"]
    changed = observation(2, intensity=0.9)
    conflict = pg_client.post(
        "/observations", json=collection([observation(7), changed]), headers=sensor
    )
    assert conflict.status_code == 409
    stored = pg_client.app.state.blightmap.store.get_observation("obs-2")  # type: ignore[attr-defined]
    assert observation_digest(stored) in conflict.text
    found = pg_client.get("/collections/observations/items", params={"limit": 100}).json()
    assert sorted(f["id"] for f in found["features"]) == [f"obs-{i}" for i in range(5)]


def test_bbox_query(pg_client: TestClient, pg_keys: dict[str, str]) -> None:
    features = [observation(i, lon=5.1215 + 0.0001 * i) for i in range(6)]
    pg_client.post("/observations", json=collection(features), headers=auth(pg_keys["sensor"]))
    page = pg_client.get(
        "/collections/observations/items", params={"bbox": "5.12155,52.09,5.12175,52.091"}
    ).json()
    assert sorted(f["id"] for f in page["features"]) == ["obs-1", "obs-2"]
    assert page["numberMatched"] == 2


@pytest.mark.parametrize("field", ["name", "district"])
def test_a_nul_character_is_a_422_not_a_5xx(
    pg_client: TestClient, pg_keys: dict[str, str], field: str
) -> None:
    tower: Tower = make_tower(9)
    feature = {
        "type": "Feature",
        "id": tower.id,
        "geometry": {"type": "Point", "coordinates": list(tower.centroid_lonlat)},
        "properties": {
            "base_height_m": 40.0,
            "height_m": 10.0,
            "tiers": [{"level": 0, "height_m": 0.5}],
            field: "Dom\x00toren",
        },
    }
    answer = pg_client.post(
        "/collections/towers/items",
        json=feature,
        headers={**auth(pg_keys["admin"]), "Content-Type": "application/geo+json"},
    )
    assert answer.status_code == 422, answer.text
    assert pg_client.get(f"/collections/towers/items/{tower.id}").status_code == 404


def test_the_same_tower_without_the_nul_is_stored(
    pg_client: TestClient, pg_keys: dict[str, str]
) -> None:
    tower: Tower = make_tower(9)
    feature = {
        "type": "Feature",
        "id": tower.id,
        "geometry": {"type": "Point", "coordinates": list(tower.centroid_lonlat)},
        "properties": {
            "base_height_m": 40.0,
            "height_m": 10.0,
            "tiers": [{"level": 0, "height_m": 0.5}],
            "name": "Domtoren",
        },
    }
    answer = pg_client.post(
        "/collections/towers/items",
        json=feature,
        headers={**auth(pg_keys["admin"]), "Content-Type": "application/geo+json"},
    )
    assert answer.status_code == 201, answer.text
    stored = pg_client.get(f"/collections/towers/items/{tower.id}").json()
    assert stored["properties"]["name"] == "Domtoren"
