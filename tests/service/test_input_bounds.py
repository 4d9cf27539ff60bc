"""Issue 11, finding 7 (input parts): unbounded JSON arrays and absurd heights.

Before: a 15 MB ``bbox`` array was parsed in full (+578 MB); an array of wrong items
gave one error per item (a 7 MB one: 27 s, 1.8 GB); a height of 1e300 was accepted.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.schemas.limits import MAX_COMMAS, TooManyValues, check_value_counts
from service.state import AppState
from tests.service.conftest import auth, collection, observation
from tests.service.test_treatments_api import treatment

pytestmark = pytest.mark.usefixtures("seeded")


def post_raw(client: TestClient, url: str, key: str, body: bytes) -> Any:
    headers = {**auth(key), "Content-Type": "application/json"}
    return client.post(url, content=body, headers=headers)


def with_bbox(array: bytes) -> bytes:
    """An observation collection whose first feature's bbox is ``array`` (raw JSON)."""
    text = json.dumps(collection([observation(1)]))
    return (
        text.replace('"properties"', '"bbox": @@, "properties"', 1).encode().replace(b"@@", array)
    )


@pytest.mark.parametrize(
    "array", [b"[" + b"0," * 7_500_000 + b"0]", b"[" + b"[0,0]," * 1_250_000 + b"[0,0]]"]
)
def test_a_15_mb_bbox_is_refused_unparsed(
    array: bytes, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    started = time.perf_counter()
    r = post_raw(client, "/observations", keys["sensor"], with_bbox(array))
    assert r.status_code == 413, r.text[:300]
    assert r.json()["errors"] == [
        {"field": "body", "reason": f"holds more than {MAX_COMMAS} values"}
    ]
    assert time.perf_counter() - started < 10  # pydantic took 27 s on the nested one
    assert state.store.counts()["observations"] == 0


@pytest.mark.parametrize(
    "array", [b"[" + b"0," * 200_000 + b"0]", b"[" + b"[0,0]," * 50_000 + b"[0,0]]", b"[1,2,3]"]
)
def test_a_long_array_under_the_counts_is_one_error_naming_it(
    array: bytes, client: TestClient, keys: dict[str, str]
) -> None:
    r = post_raw(client, "/observations", keys["sensor"], with_bbox(array))
    assert r.status_code == 422, r.text[:300]
    assert [e["field"] for e in r.json()["errors"]] == ["features.0.bbox"]


def test_the_counts_refuse_brackets_and_commas_only() -> None:
    check_value_counts(json.dumps(collection([observation(i) for i in range(10_000)])).encode())
    with pytest.raises(TooManyValues, match="arrays and objects"):
        check_value_counts(b"[" * 250_001)
    with pytest.raises(TooManyValues, match="values"):
        check_value_counts(b"," * (MAX_COMMAS + 1))


@pytest.mark.parametrize("height", [1e300, -1e300, 9000.5, -500.5])
def test_an_observation_height_out_of_range_is_refused(
    height: float, client: TestClient, keys: dict[str, str]
) -> None:
    feature = observation(1)
    feature["geometry"]["coordinates"] = [5.1215, 52.0908, height]
    r = client.post("/observations", json=collection([feature]), headers=auth(keys["sensor"]))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "features.0.geometry.coordinates"
    assert "[-500, 9000] m" in error["reason"]


def tower(**properties: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "base_height_m": 2.0,
        "height_m": 9.0,
        "tiers": [{"level": 0, "height_m": 0.5}],
    }
    props.update(properties)
    return {
        "type": "Feature",
        "id": "T-NEW",
        "geometry": {"type": "Point", "coordinates": [5.1230, 52.0912]},
        "properties": props,
    }


@pytest.mark.parametrize(
    "props,field",
    [
        ({"base_height_m": 1e300}, "base_height_m"),
        ({"height_m": 1e300}, "height_m"),
        ({"tiers": [{"level": 0, "height_m": 1e300}]}, "tiers.0"),
        ({f"p{i}": i for i in range(101)}, "properties"),
    ],
)
def test_absurd_tower_heights_are_refused(
    props: dict[str, Any], field: str, client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post("/collections/towers/items", json=tower(**props), headers=auth(keys["admin"]))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_polygon_rings_are_capped(client: TestClient, keys: dict[str, str]) -> None:
    body = treatment()
    ring = body["geometry"]["coordinates"][0]
    body["geometry"]["coordinates"][0] = ring[:-1] * 2_501 + ring[-1:]
    r = client.post("/treatments", json=body, headers=auth(keys["planner"]))
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert all(e["field"].startswith("geometry.coordinates") for e in errors)
    assert any("at most 10000 items" in e["reason"] for e in errors)


def test_a_tower_44_km_away_is_refused(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    """Before: accepted (within tower_max_distance_m = 50 km); the field's grid then
    spanned 44 km and took a minute to compute, or failed outright on a diagonal."""
    far = tower()
    far["geometry"]["coordinates"] = [5.1214 + 44_000 / 68_600, 52.0907]
    r = client.post("/collections/towers/items", json=far, headers=auth(keys["admin"]))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "geometry"
    assert re.search(r"stretch the district to 4[34]\.\d km", error["reason"])
    assert "at most 5.00 km" in error["reason"]
    assert state.store.get_tower("T-NEW") is None
    near = client.post("/collections/towers/items", json=tower(), headers=auth(keys["admin"]))
    assert near.status_code == 201, near.text
