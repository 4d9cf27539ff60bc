"""App fixtures: the app is built with ``create_app(Settings(...))`` on a tmp store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.layer import Tower
from service.app import create_app
from service.auth import Role, create_key
from service.settings import Settings
from service.state import AppState


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url="http://testserver")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def state(client: TestClient) -> AppState:
    st: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
    return st


@pytest.fixture
def keys(state: AppState) -> dict[str, str]:
    """One key per role."""
    return {role.value: create_key(state.store, role)[0] for role in Role}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def seeded(state: AppState, towers: list[Tower]) -> list[Tower]:
    state.store.upsert_towers(towers)
    return towers


def observation(i: int, lon: float = 5.1215, lat: float = 52.0908, **props: Any) -> dict[str, Any]:
    """A valid observation feature, with properties overridable."""
    properties: dict[str, Any] = {
        "observed_at": f"2026-11-{1 + i % 25:02d}T10:00:00Z",
        "intensity": 0.25,
        "source": "sensor",
    }
    properties.update(props)
    return {
        "type": "Feature",
        "id": f"obs-{i}",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}
