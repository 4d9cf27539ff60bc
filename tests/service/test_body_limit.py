"""Bodies over the limit get 413, with or without Content-Length, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import Role, create_key
from service.settings import Settings
from tests.service.conftest import auth, collection, observation


@pytest.fixture
def small_client(tmp_path: Any, towers: Any) -> Iterator[tuple[TestClient, str]]:
    app = create_app(Settings(data_dir=tmp_path, max_body_bytes=4096))
    with TestClient(app) as c:
        store = app.state.blightmap.store
        store.upsert_towers(towers)
        yield c, create_key(store, Role.SENSOR)[0]


def _big_body() -> bytes:
    import json

    return json.dumps(collection([observation(i) for i in range(100)])).encode()


def test_declared_length_over_limit_is_413(small_client: tuple[TestClient, str]) -> None:
    c, key = small_client
    r = c.post(
        "/observations",
        content=_big_body(),
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "4096" in r.json()["detail"]
    assert c.app.state.blightmap.store.counts()["observations"] == 0  # type: ignore[attr-defined]


def test_chunked_body_over_limit_is_413(small_client: tuple[TestClient, str]) -> None:
    c, key = small_client
    body = _big_body()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    r = c.post(
        "/observations", content=chunks(), headers={**auth(key), "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert c.app.state.blightmap.store.counts()["observations"] == 0  # type: ignore[attr-defined]


def test_body_under_limit_passes(small_client: tuple[TestClient, str]) -> None:
    c, key = small_client
    r = c.post("/observations", json=collection([observation(1)]), headers=auth(key))
    assert r.status_code == 201
