"""kill -9 durability: every acknowledged observation survives sudden death of the server,
on the GeoPackage and on PostGIS (where the kill also cuts the server's database sessions)."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from service.app import open_store
from service.auth import Role, create_key
from service.settings import Settings
from tests.conftest import LiveServer, make_tower
from tests.postgis import postgis_schema
from tests.service.conftest import auth, collection, observation

pytestmark = [pytest.mark.kill, pytest.mark.live]
KILLS = 10
BATCH = 200


class Writer(threading.Thread):
    """Posts batches with fresh ids as fast as it can; records what was acknowledged."""

    def __init__(self, server: LiveServer, key: str) -> None:
        super().__init__(daemon=True)
        self.server, self.key = server, key
        self.acknowledged: set[str] = set()
        self.stop = threading.Event()
        self.next_id = 0

    def run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set():
                feats = []
                for _ in range(BATCH):
                    feats.append(observation(self.next_id, lon=5.1215, lat=52.0908))
                    feats[-1]["id"] = f"k-{self.next_id}"
                    self.next_id += 1
                try:
                    r = http.post(
                        self.server.url + "/observations",
                        json=collection(feats),
                        headers=auth(self.key),
                    )
                except httpx.TransportError:
                    time.sleep(0.02)
                    continue
                if r.status_code in (200, 201):
                    self.acknowledged.update(f["id"] for f in feats)


@pytest.fixture(params=["geopackage", "postgis"])
def backend_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The backend; for PostGIS the server children find it in their environment."""
    if request.param == "postgis":
        with postgis_schema("bm_kill") as (url, schema):
            monkeypatch.setenv("BLIGHTMAP_DATABASE_URL", url)
            monkeypatch.setenv("BLIGHTMAP_DATABASE_SCHEMA", schema)
            yield request.param
        return
    monkeypatch.delenv("BLIGHTMAP_DATABASE_URL", raising=False)
    yield request.param


def _stored_ids(settings: Settings) -> set[str]:
    """Every stored observation id, read past the store (and, for the file, its integrity)."""
    if settings.database_url:
        with psycopg.connect(settings.database_url) as db:
            table = sql.Identifier(settings.database_schema, "observations")
            rows = db.execute(sql.SQL("SELECT obs_id FROM {}").format(table)).fetchall()
            return {row[0] for row in rows}
    with sqlite3.connect(settings.store_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {row[0] for row in db.execute("SELECT obs_id FROM observations")}


def test_acknowledged_observations_survive_kill_9(tmp_path: Path, backend_env: str) -> None:
    settings = Settings(data_dir=tmp_path)
    assert (settings.database_url is not None) == (backend_env == "postgis")
    store = open_store(settings)
    store.upsert_towers([make_tower(i) for i in range(4)])
    key, _ = create_key(store, Role.SENSOR)
    store.close()

    server = LiveServer(tmp_path)
    writer = Writer(server, key)
    rng = random.Random(2026)
    try:
        server.start()
        writer.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.2))
            server.kill()
            server.start()
        time.sleep(0.5)
    finally:
        writer.stop.set()
        writer.join(15)
        server.stop()

    assert len(writer.acknowledged) >= 5 * BATCH  # the writer really wrote between kills
    stored = _stored_ids(settings)
    missing = writer.acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged observations lost"
