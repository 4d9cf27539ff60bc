"""Liveness apart from readiness; what anonymous callers may see."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import Role, create_key
from service.demo import seed_demo
from service.settings import Settings
from service.store import ObservationQuery
from service.store.gpkg import GeoPackageStore
from tests.service.conftest import auth

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


class CorruptibleStore(GeoPackageStore):
    """A real GeoPackage store whose observation reads fail once ``corrupt`` is set, as
    they do when the file is damaged (SQLite's own error)."""

    corrupt = False

    def query_observations(self, query: ObservationQuery) -> Any:
        if self.corrupt:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return super().query_observations(query)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[TestClient, CorruptibleStore]]:
    settings = Settings(data_dir=tmp_path, public_url="http://testserver")
    store = CorruptibleStore(settings.store_path)
    seed_demo(store, seed=7, end=END)
    with TestClient(create_app(settings, store)) as client:
        yield client, store


def test_healthz_shows_no_path_or_counts_without_an_admin_key(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    viewer, _ = create_key(client.app.state.blightmap.store, Role.VIEWER)  # type: ignore[attr-defined]
    assert client.get("/healthz", headers=auth(viewer)).json() == {"status": "ok"}
    assert client.get("/healthz", headers=auth("not-a-key")).json() == {"status": "ok"}


def test_healthz_details_for_admin(client: TestClient, keys: dict[str, str]) -> None:
    body = client.get("/healthz", headers=auth(keys["admin"])).json()
    assert body["store"]["kind"] == "geopackage" and "counts" in body


def test_ready_on_an_empty_store(client: TestClient) -> None:
    """A new district has no field yet; that is a normal, ready state."""
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_ready_with_a_field_and_not_when_the_field_breaks(
    demo: tuple[TestClient, CorruptibleStore],
) -> None:
    client, store = demo
    assert client.get("/readyz").status_code == 200
    renamed = dataclasses.replace(store.list_towers()[0], name="renamed")
    store.upsert_towers([renamed])  # a new data version: the field must be recomputed
    store.corrupt = True
    assert client.get("/healthz").status_code == 200  # alive all the same
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert [e["field"] for e in body["errors"]] == ["field"]
    assert r.headers["retry-after"] == "5" and str(store.describe()["path"]) not in r.text


def test_not_ready_when_the_disk_is_full(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, ready_min_free_bytes=1 << 62)
    with TestClient(create_app(settings)) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert [e["field"] for e in r.json()["errors"]] == ["storage"]
    assert str(tmp_path) not in r.text
