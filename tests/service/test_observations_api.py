"""POST /observations: idempotency, durability contract, and every kind of bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.state import AppState
from tests.service.conftest import auth, collection, observation

pytestmark = pytest.mark.usefixtures("seeded")


def post(client: TestClient, key: str, body: Any, raw: bytes | None = None) -> Any:
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {**auth(key), "Content-Type": "application/geo+json"}
    return client.post("/observations", content=content, headers=headers)


def test_new_observations_are_counted_and_stored(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    r = post(client, keys["sensor"], collection([observation(i) for i in range(5)]))
    assert r.status_code == 201
    assert r.json()["new"] == 5 and r.json()["known"] == 0
    assert state.store.counts()["observations"] == 5


def test_reposting_the_same_ids_stores_nothing_twice(
    client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    body = collection([observation(i) for i in range(5)])
    post(client, keys["sensor"], body)
    again = post(client, keys["sensor"], body)
    assert again.status_code == 200
    assert again.json() == {**again.json(), "new": 0, "known": 5, "received": 5}
    assert state.store.counts()["observations"] == 5


def test_mixed_batch_counts_new_and_known(client: TestClient, keys: dict[str, str]) -> None:
    post(client, keys["sensor"], collection([observation(i) for i in range(3)]))
    r = post(client, keys["sensor"], collection([observation(i) for i in range(1, 6)]))
    assert (r.json()["new"], r.json()["known"]) == (3, 2)


def test_stored_observation_reads_back_in_utc(client: TestClient, keys: dict[str, str]) -> None:
    feat = observation(
        1,
        observed_at="2026-11-02T12:30:00+02:00",
        confidence=0.8,
        tier=2,
        tower_id="T000",
        microbial_balance=0.4,
    )
    feat["geometry"]["coordinates"] = [5.1215, 52.0908, 47.5]
    post(client, keys["sensor"], collection([feat]))
    got = client.get("/collections/observations/items/obs-1").json()
    assert got["properties"]["observed_at"] == "2026-11-02T10:30:00.000Z"
    assert got["geometry"]["coordinates"] == [5.1215, 52.0908, 47.5]
    assert got["properties"]["tier"] == 2 and got["properties"]["confidence"] == 0.8


def _feature_with(**changes: Any) -> dict[str, Any]:
    feat = observation(1)
    for path, value in changes.items():
        target = feat
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return feat


_DELETE = object()

BAD_FEATURES = {
    "intensity above 1": (_feature_with(properties__intensity=1.5), "properties.intensity"),
    "intensity below 0": (_feature_with(properties__intensity=-0.1), "properties.intensity"),
    "missing observed_at": (
        _feature_with(properties__observed_at=_DELETE),
        "properties.observed_at",
    ),
    "observed_at without zone": (
        _feature_with(properties__observed_at="2026-11-01T10:00:00"),
        "properties.observed_at",
    ),
    "unknown property": (_feature_with(properties__colour="red"), "properties.colour"),
    "unknown source": (_feature_with(properties__source="satellite"), "properties.source"),
    "latitude out of range": (
        _feature_with(geometry__coordinates=[5.12, 95.0]),
        "geometry.coordinates",
    ),
    "longitude out of range": (
        _feature_with(geometry__coordinates=[185.0, 52.0]),
        "geometry.coordinates",
    ),
    "swapped lon/lat": (
        _feature_with(geometry__coordinates=[52.0908, 5.1215]),
        "geometry.coordinates",
    ),
    "far outside the district": (
        _feature_with(geometry__coordinates=[13.4, 52.5]),
        "geometry.coordinates",
    ),
    "crs member on a feature": (_feature_with(crs={"type": "name"}), ""),
    "observed in the future": (
        _feature_with(properties__observed_at="2099-01-01T00:00:00Z"),
        "properties.observed_at",
    ),
    "confidence above 1": (_feature_with(properties__confidence=2), "properties.confidence"),
    "unknown tower": (_feature_with(properties__tower_id="NOPE"), "properties.tower_id"),
    "tier beyond the tower": (
        _feature_with(properties__tower_id="T000", properties__tier=9),
        "properties.tier",
    ),
    "not a point": (
        _feature_with(geometry={"type": "LineString", "coordinates": [[5, 52]]}),
        "geometry",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FEATURES))
def test_bad_feature_is_refused_naming_the_field(
    case: str, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    bad, field = BAD_FEATURES[case]
    r = post(client, keys["sensor"], collection([observation(7), bad]))
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == r.status_code and problem["title"]
    fields = [e["field"] for e in problem["errors"]]
    assert any(f.startswith(f"features.1.{field}".rstrip(".")) for f in fields), fields
    assert state.store.counts()["observations"] == 0  # nothing of the batch was stored


def test_swapped_coordinates_get_a_hint(client: TestClient, keys: dict[str, str]) -> None:
    feat = _feature_with(geometry__coordinates=[52.0908, 5.1215])
    r = post(client, keys["sensor"], collection([feat]))
    assert "swapped" in r.text


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(
    token: str, client: TestClient, keys: dict[str, str], state: AppState
) -> None:
    text = json.dumps(collection([observation(1)])).replace(
        '"intensity": 0.25', f'"intensity": {token}'
    )
    r = post(client, keys["sensor"], None, raw=text.encode())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "features.0.properties.intensity"
    assert "finite" in r.json()["errors"][0]["reason"]
    assert state.store.counts()["observations"] == 0


def test_crs_member_is_refused_citing_rfc7946(client: TestClient, keys: dict[str, str]) -> None:
    body = {**collection([observation(1)]), "crs": {"type": "name", "properties": {}}}
    r = post(client, keys["sensor"], body)
    assert r.status_code == 422 and "RFC 7946" in r.text


def test_malformed_json_is_400_without_echo(client: TestClient, keys: dict[str, str]) -> None:
    secret = b'{"type": "FeatureCollection", "features": [SECRET-PAYLOAD'
    r = post(client, keys["sensor"], None, raw=secret)
    assert r.status_code == 400
    assert "malformed JSON" in r.json()["detail"] and "SECRET" not in r.text


def test_raw_input_is_never_echoed(client: TestClient, keys: dict[str, str]) -> None:
    r = post(client, keys["sensor"], collection([_feature_with(properties__source="EVIL<script>")]))
    assert r.status_code == 422 and "EVIL" not in r.text


def test_more_than_10000_features_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    body = collection([observation(i) for i in range(10_001)])
    r = post(client, keys["sensor"], body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "features"


def test_wrong_media_type_is_415(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/observations",
        content=b"a,b",
        headers={**auth(keys["sensor"]), "Content-Type": "text/csv"},
    )
    assert r.status_code == 415
