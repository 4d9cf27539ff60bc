"""The AR protocol's JSON Schema served over HTTP (issue 13 finding 6).

A client resolves everything from the service: the protocol schema's ``$id`` is its
URL here, and the GeoPose schema it refers to is served beside it. Real overlay
messages validate against what is served.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from ar_assets.overlay import Anchor, Convention, Overlay, OverlayKind
from ar_assets.overlays import overlay_message
from service.app import create_app
from service.settings import Settings
from service.stream.schema import protocol_schema

BASE = "http://testserver"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", public_url=BASE)
    with TestClient(create_app(settings), base_url=BASE) as c:
        yield c


def test_the_schema_is_served_with_its_own_url_as_id(client: TestClient) -> None:
    r = client.get("/schemas/ar-protocol.schema.json", headers={"Origin": "https://x.example"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/schema+json"
    assert r.headers["access-control-allow-origin"] == "*"
    served = r.json()
    assert served["$id"] == f"{BASE}/schemas/ar-protocol.schema.json"
    assert {k: v for k, v in served.items() if k != "$id"} == {
        k: v for k, v in protocol_schema().items() if k != "$id"
    }
    assert client.get("/schemas/ar-protocol.json").json() == served
    again = client.get(
        "/schemas/ar-protocol.schema.json", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
    Draft202012Validator.check_schema(served)


def test_real_messages_validate_against_the_served_schema(client: TestClient) -> None:
    def retrieve(uri: str) -> Resource[Any]:
        assert uri.startswith(BASE), uri  # everything resolves on this service
        r = client.get(uri[len(BASE) :])
        assert r.status_code == 200, uri
        return Resource.from_contents(r.json())

    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    root = f"{BASE}/schemas/ar-protocol.schema.json"
    check = Draft202012Validator({"$ref": f"{root}#/$defs/server_message"}, registry=registry)
    item = Overlay(
        "tower:T1",
        OverlayKind.TOWER_MARKER,
        3,
        Anchor(5.1214, 52.0907, 47.0),
        "/assets/" + "ab" * 16 + ".glb",
        {"color": "#ffffff"},
        {"tower_id": "T1"},
    )
    for convention in Convention:
        overlay = overlay_message(item, convention)
        snapshot = {
            "type": "snapshot", "epoch": "e1", "offset": 0, "convention": convention.value,
            "range_m": 200.0, "layers": ["towers"], "overlays": [overlay],
        }  # fmt: skip
        check.validate(snapshot)
        broken = {**snapshot, "overlays": [{**overlay, "pose_frame": {"axes": "NED"}}]}
        assert not check.is_valid(broken)
