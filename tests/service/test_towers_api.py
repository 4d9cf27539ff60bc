"""Tower create/replace/delete in the style of OGC API - Features Part 4."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.state import AppState
from tests.service.conftest import auth


def tower_feature(tower_id: str = "NEW-1", **props: Any) -> dict[str, Any]:
    lon, lat = 5.1230, 52.0912
    properties: dict[str, Any] = {
        "name": "New tower",
        "district": "Test",
        "base_height_m": 45.0,
        "height_m": 14.0,
        "tiers": [{"level": i, "height_m": 3.0 * i, "crop": "kale"} for i in range(4)],
    }
    properties.update(props)
    ring = [
        [lon, lat],
        [lon + 0.0001, lat],
        [lon + 0.0001, lat + 0.0001],
        [lon, lat + 0.0001],
        [lon, lat],
    ]
    return {
        "type": "Feature",
        "id": tower_id,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }


def test_create_then_read(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    assert r.status_code == 201
    assert r.headers["location"] == "http://testserver/collections/towers/items/NEW-1"
    got = client.get("/collections/towers/items/NEW-1").json()
    assert got["properties"]["tiers"][3] == {"level": 3, "height_m": 9.0, "crop": "kale"}
    assert got["geometry"]["type"] == "Polygon"


def test_extra_properties_are_kept(client: TestClient, keys: dict[str, str]) -> None:
    client.post(
        "/collections/towers/items",
        json=tower_feature(operator="Coop 5"),
        headers=auth(keys["admin"]),
    )
    assert (
        client.get("/collections/towers/items/NEW-1").json()["properties"]["operator"] == "Coop 5"
    )


def test_create_twice_is_409(client: TestClient, keys: dict[str, str]) -> None:
    client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    r = client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"


def test_replace(client: TestClient, keys: dict[str, str]) -> None:
    client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    r = client.put(
        "/collections/towers/items/NEW-1",
        json=tower_feature(name="Renamed"),
        headers=auth(keys["admin"]),
    )
    assert r.status_code == 200
    assert client.get("/collections/towers/items/NEW-1").json()["properties"]["name"] == "Renamed"


def test_replace_missing_is_404(client: TestClient, keys: dict[str, str]) -> None:
    r = client.put(
        "/collections/towers/items/NEW-1", json=tower_feature(), headers=auth(keys["admin"])
    )
    assert r.status_code == 404


def test_replace_with_other_id_is_422(client: TestClient, keys: dict[str, str]) -> None:
    client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    r = client.put(
        "/collections/towers/items/NEW-1", json=tower_feature("OTHER"), headers=auth(keys["admin"])
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id"


def test_delete(client: TestClient, keys: dict[str, str], state: AppState) -> None:
    client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    assert (
        client.delete("/collections/towers/items/NEW-1", headers=auth(keys["admin"])).status_code
        == 204
    )
    assert client.get("/collections/towers/items/NEW-1").status_code == 404
    assert state.store.counts()["towers"] == 0
    assert (
        client.delete("/collections/towers/items/NEW-1", headers=auth(keys["admin"])).status_code
        == 404
    )


def test_the_district_grows_from_the_first_tower(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/collections/towers").json()["extent"]["spatial"]["bbox"][0][0] == -180
    client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    bbox = client.get("/collections/towers").json()["extent"]["spatial"]["bbox"][0]
    assert bbox[0] == pytest.approx(5.1230) and bbox[3] == pytest.approx(52.0913)


def test_self_intersecting_footprint_gives_shapely_reason(
    client: TestClient, keys: dict[str, str]
) -> None:
    feat = tower_feature()
    feat["geometry"]["coordinates"] = [
        [[5.123, 52.091], [5.124, 52.092], [5.124, 52.091], [5.123, 52.092], [5.123, 52.091]]
    ]
    r = client.post("/collections/towers/items", json=feat, headers=auth(keys["admin"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "geometry"
    assert "Self-intersection" in r.json()["errors"][0]["reason"]


BAD_TOWERS = {
    "tiers out of order": ({"tiers": [{"level": 1, "height_m": 0.0}]}, "tiers.0"),
    "tier above the tower": ({"tiers": [{"level": 0, "height_m": 99.0}]}, "tiers.0"),
    "negative height": ({"height_m": -3.0}, "height_m"),
    "unknown tier member": (
        {"tiers": [{"level": 0, "height_m": 0.0, "x": 1}]},
        "properties.tiers.0.x",
    ),
    "nested extra property": ({"owner": {"name": "x"}}, "properties.owner"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOWERS))
def test_bad_tower_is_refused(
    case: str, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    props, field = BAD_TOWERS[case]
    r = client.post(
        "/collections/towers/items", json=tower_feature(**props), headers=auth(keys["admin"])
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert state.store.counts()["towers"] == 0


def test_far_away_tower_is_refused_once_a_district_exists(
    client: TestClient, keys: dict[str, str]
) -> None:
    client.post("/collections/towers/items", json=tower_feature(), headers=auth(keys["admin"]))
    far = tower_feature("FAR")
    far["geometry"] = {"type": "Point", "coordinates": [52.0912, 5.1230]}
    r = client.post("/collections/towers/items", json=far, headers=auth(keys["admin"]))
    assert r.status_code == 422 and "swapped" in r.text


# --- issue 13, finding 7: no silent 0 m base, heights plausible against the geoid -------


def test_a_tower_without_base_height_is_refused_naming_the_field(
    client: TestClient, keys: dict[str, str]
) -> None:
    body = tower_feature()
    del body["properties"]["base_height_m"]
    r = client.post("/collections/towers/items", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["properties.base_height_m"]
    assert client.get("/collections/towers/items/NEW-1").status_code == 404


@pytest.mark.parametrize("base_height_m", [-200.0, 300.0, 9000.0, -500.0])
def test_a_base_height_far_from_the_geoid_is_refused(
    base_height_m: float, client: TestClient, keys: dict[str, str]
) -> None:
    """The geoid is 43.5 m above the ellipsoid here; beyond +-200 m of it is implausible."""
    body = tower_feature(base_height_m=base_height_m)
    r = client.post("/collections/towers/items", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "base_height_m"
    assert "EGM2008" in error["reason"] and "base_height_tolerance_m" in error["reason"]


@pytest.mark.parametrize("base_height_m", [0.0, 43.5, 243.0, -156.0])
def test_base_heights_near_the_geoid_are_accepted(
    base_height_m: float, client: TestClient, keys: dict[str, str]
) -> None:
    body = tower_feature(base_height_m=base_height_m)
    r = client.post("/collections/towers/items", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 201, r.text
