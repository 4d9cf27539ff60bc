"""Property tests through the app: ids, numbers at their limits, bboxes and dates in the
query string of every collection give an answer or a 4xx problem, never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.layer import Tower

COLLECTIONS = ("towers", "observations", "zones", "treatments", "forecast-fronts")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
limits = st.one_of(
    st.integers(min_value=-1, max_value=2).map(str),
    st.integers(min_value=9_999, max_value=10_001).map(str),
    st.sampled_from(["", "1e3", "0x10", "99999999999999999999", " 5", "-0", "NaN"]),
)
coordinates = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-180.0, 180.0, -90.0, 90.0, 180.0000001, 5.12, 52.09]),
)
bboxes = st.lists(coordinates, min_size=3, max_size=6).map(lambda ns: ",".join(map(str, ns)))
dates = st.one_of(
    st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0999-06-01/..", "../.."]),
)
ids = st.text(min_size=1, max_size=200).filter(lambda s: s not in (".", ".."))


def assert_answered(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == r.status_code


@pytest.mark.usefixtures("seeded")
@FUZZ
@given(
    st.sampled_from(COLLECTIONS),
    st.fixed_dictionaries(
        {},
        optional={"limit": limits, "offset": limits, "bbox": bboxes, "datetime": dates},
    ),
)
def test_item_queries_at_their_limits(
    client: TestClient, collection: str, params: dict[str, str]
) -> None:
    assert_answered(client.get(f"/collections/{collection}/items", params=params))


@pytest.mark.usefixtures("seeded")
@FUZZ
@given(st.sampled_from(COLLECTIONS), ids)
def test_any_feature_id(client: TestClient, collection: str, feature_id: str) -> None:
    r = client.get(f"/collections/{collection}/items/{quote(feature_id, safe='')}")
    assert_answered(r)
    assert r.status_code in (200, 400, 404)


@FUZZ
@given(
    st.sampled_from(["blight", "uncertainty", "towers", "zones", "forecast", "nope"]),
    st.integers(min_value=-1, max_value=25),
    st.integers(min_value=-1, max_value=2**25),
    st.integers(min_value=-1, max_value=2**25),
    st.fixed_dictionaries({}, optional={"tilesize": limits, "day": limits}),
)
def test_tile_addresses_at_their_limits(
    client: TestClient,
    seeded: list[Tower],
    layer: str,
    z: int,
    x: int,
    y: int,
    params: dict[str, str],
) -> None:
    fmt = "mvt" if layer in ("towers", "zones") else "png"
    assert_answered(client.get(f"/tiles/{layer}/WebMercatorQuad/{z}/{x}/{y}.{fmt}", params=params))
