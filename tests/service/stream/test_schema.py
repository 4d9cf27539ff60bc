"""The protocol schema and the code stay in step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ar_assets.overlay import Convention, Layer
from service.stream.protocol import MAX_RANGE_M, MIN_RANGE_M, CloseCode, ErrorCode
from service.stream.schema import CLIENT_TYPES, check_client_message, protocol_schema, validator
from tests.service.stream.helpers import move, overlay, serialize, subscribe

ROOT = Path(__file__).resolve().parents[3]

VALID_CLIENT_MESSAGES: list[dict[str, Any]] = [
    {"type": "auth", "key": "bm_abc"},
    subscribe(),
    subscribe(layers=["heat", "zones"], convention="arcore", resume={"epoch": "e", "offset": 3}),
    subscribe(range_m=2000, layers=[]),
    move(10, 20),
    {"type": "ping"},
    {"type": "ping", "id": 7},
    {"type": "ping", "id": "abc"},
]


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(protocol_schema())


@pytest.mark.parametrize("message", VALID_CLIENT_MESSAGES, ids=lambda m: m["type"])
def test_valid_client_messages_pass_both_validators(message: dict[str, Any]) -> None:
    assert check_client_message(message) is None
    validator("client_message").validate(message)


@pytest.mark.parametrize(
    "message",
    [
        subscribe(range_m=0),
        subscribe(layers=["nope"]),
        {**move(0), "extra": 1},
        {"type": "move", "viewer": {"position": {"lon": 5, "lat": 95, "h": 0}}},
        {"type": "ping", "id": "x" * 65},
        {"type": "auth", "key": ""},
    ],
)
def test_invalid_client_messages_fail_both_validators(message: dict[str, Any]) -> None:
    assert check_client_message(message) is not None
    assert not validator("client_message").is_valid(message)


def test_enums_match_the_code() -> None:
    defs = protocol_schema()["$defs"]
    assert defs["layer"]["enum"] == [layer.value for layer in Layer]
    assert defs["convention"]["enum"] == [c.value for c in Convention]
    assert defs["error"]["properties"]["code"]["enum"] == [c.value for c in ErrorCode]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in defs["client_message"]["oneOf"]] == list(
        CLIENT_TYPES
    )
    assert (defs["range_m"]["minimum"], defs["range_m"]["maximum"]) == (MIN_RANGE_M, MAX_RANGE_M)


def test_the_viewer_refers_to_the_official_geopose_schema() -> None:
    viewer = protocol_schema()["$defs"]["viewer"]
    assert viewer["allOf"][0]["$ref"] == "GeoPose.Basic.Quaternion.Schema.json"
    assert (ROOT / "ar_assets/schemas/GeoPose.Basic.Quaternion.Schema.json").is_file()


def test_the_stand_in_overlay_validates() -> None:
    validator("overlay").validate(serialize(overlay("a"), Convention.GEOPOSE))


def test_the_real_overlay_message_validates() -> None:
    overlays = pytest.importorskip("ar_assets.overlays")
    for convention in Convention:
        message = overlays.overlay_message(overlay("a", 10), convention)
        validator("overlay").validate(json.loads(json.dumps(message)))


def test_the_doc_lists_every_message() -> None:
    doc = (ROOT / "docs/ar-protocol.md").read_text()
    for name in ("auth", "subscribe", "move", "ping", "snapshot", "delta", "resumed", "error"):
        assert f"`{name}`" in doc
    for code in ErrorCode:
        assert f"`{code.value}`" in doc
    for close in CloseCode:  # every close code the server uses is in the close codes table
        assert f"\n| {close.value} |" in doc, close
