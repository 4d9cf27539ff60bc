"""Property tests (hypothesis) of the request parsers: any input gives a value within the
rules or a 4xx problem, never an exception of another kind (a 500)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from service.body import parse_json
from service.errors import ApiError, BadRequest
from service.ogc import check_known_params, parse_bbox, parse_datetime, parse_int
from service.routers.fields import _parse_points
from service.schemas.observations import ObservationCollectionIn

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers_as_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["", " ", "nan", "-inf", "1e309", "-0", "0x10", "1_0", "\u0661", "1e-400"]),
)


def request_with(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode()})


@FUZZ
@given(st.lists(numbers_as_text, min_size=0, max_size=7).map(",".join) | st.text(max_size=60))
def test_bbox_is_four_finite_ordered_numbers_or_a_400(raw: str) -> None:
    try:
        bbox = parse_bbox(raw)
    except BadRequest as exc:
        assert exc.errors[0].field == "bbox"
        return
    assert bbox is not None and len(bbox) == 4
    assert all(math.isfinite(n) for n in bbox) and bbox[1] <= bbox[3]


@FUZZ
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=4, max_size=4))
def test_finite_bboxes_round_trip(numbers: list[float]) -> None:
    minx, miny, maxx, maxy = numbers
    miny, maxy = sorted((miny, maxy))
    assert parse_bbox(",".join(repr(n) for n in (minx, miny, maxx, maxy))) == (
        minx,
        miny,
        maxx,
        maxy,
    )


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


@FUZZ
@given(instants)
def test_instants_at_every_year_round_trip_or_are_refused(moment: datetime) -> None:
    text = moment.isoformat()
    try:
        start, stop = parse_datetime(text)
    except BadRequest:
        return
    assert start == stop == moment.astimezone(UTC)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=50),
        st.tuples(instants, instants).map(lambda ab: f"{ab[0].isoformat()}/{ab[1].isoformat()}"),
        st.sampled_from(["../..", "/", "..", "2026-02-30", "2026-11-01/..", "0000-01-01"]),
    )
)
def test_datetime_is_an_ordered_aware_interval_or_a_400(raw: str) -> None:
    try:
        start, stop = parse_datetime(raw)
    except BadRequest as exc:
        assert exc.errors[0].field == "datetime"
        return
    for bound in (start, stop):
        assert bound is None or bound.tzinfo is not None
    assert start is None or stop is None or start <= stop


@FUZZ
@given(
    st.one_of(numbers_as_text, st.text(max_size=20)),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=10_000),
)
def test_integers_are_within_their_limits_or_a_400(raw: str, low: int, span: int) -> None:
    from urllib.parse import urlencode

    request = request_with(urlencode({"limit": raw}))
    try:
        value = parse_int(request, "limit", low, low, low + span)
    except BadRequest as exc:
        assert exc.errors[0].field == "limit"
        return
    assert low <= value <= low + span


@FUZZ
@given(st.lists(st.sampled_from(["limit", "bbox", "f", "offset", "évil", "a" * 80]), max_size=5))
def test_unknown_or_repeated_parameters_are_a_400(names: list[str]) -> None:
    from urllib.parse import urlencode

    request = request_with(urlencode([(n, "1") for n in names]))
    allowed = {"limit", "bbox", "offset"}
    ok = set(names) <= allowed and len(set(names)) == len(names)
    if ok:
        check_known_params(request, allowed)
    else:
        with pytest.raises(BadRequest) as refused:
            check_known_params(request, allowed)
        assert len(refused.value.errors[0].field) <= 40  # never the raw name echoed in full


@FUZZ
@given(st.text(max_size=80) | st.sampled_from(["POINT(1 2)", "MULTIPOINT((181 0))", "POINT EMPTY"]))
def test_wkt_points_are_in_range_or_a_400(text: str) -> None:
    try:
        coords = _parse_points(text, "coords")
    except BadRequest:
        return
    assert coords.shape[1] >= 2 and (abs(coords[:, :2]) <= [180, 90]).all()


# -- the ingest parser ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
ids = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128),
    st.integers(min_value=0, max_value=2**63),
)


@st.composite
def observation_features(draw: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": draw(ids),
        "geometry": {
            "type": "Point",
            "coordinates": [
                draw(st.floats(min_value=-180, max_value=180)),
                draw(st.floats(min_value=-90, max_value=90)),
            ],
        },
        "properties": {
            "observed_at": draw(instants).isoformat(),
            "intensity": draw(st.floats(min_value=0, max_value=1)),
            "source": draw(st.sampled_from(["sensor", "drone", "person", "model"])),
            "tier": draw(st.none() | st.integers(min_value=0, max_value=200)),
        },
    }


def _parse_or_problem(body: bytes) -> ObservationCollectionIn | None:
    try:
        return parse_json(ObservationCollectionIn, body)
    except ApiError as exc:
        assert exc.status in (400, 422)
        return None


@FUZZ
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_ingest_parser_refuses_anything_else_with_a_4xx(body: bytes) -> None:
    _parse_or_problem(body)


@FUZZ
@given(st.lists(observation_features(), min_size=1, max_size=5), st.data())
def test_valid_observations_parse_to_what_was_sent(
    features: list[dict[str, Any]], data: st.DataObject
) -> None:
    body = {"type": "FeatureCollection", "features": features}
    mutation = data.draw(st.sampled_from([None, "intensity", "observed_at", "extra", "lon"]))
    if mutation == "intensity":
        features[0]["properties"]["intensity"] = data.draw(
            st.floats(min_value=1.0, exclude_min=True) | st.floats(max_value=0, exclude_max=True)
        )
    elif mutation == "observed_at":
        features[0]["properties"]["observed_at"] = "2026-11-01T10:00:00"  # no timezone
    elif mutation == "extra":
        features[0]["properties"]["colour"] = "red"
    elif mutation == "lon":
        features[0]["geometry"]["coordinates"][0] = 180.000001
    parsed = _parse_or_problem(json.dumps(body).encode())
    if mutation is not None:
        assert parsed is None
        return
    assert parsed is not None
    for sent, got in zip(features, parsed.features, strict=True):
        obs = got.to_observation()
        assert obs.id == str(sent["id"])
        assert [obs.lon, obs.lat] == sent["geometry"]["coordinates"]
        assert obs.intensity == sent["properties"]["intensity"]
        sent_at = datetime.fromisoformat(sent["properties"]["observed_at"])
        assert obs.observed_at == sent_at and obs.observed_at.tzinfo == UTC
