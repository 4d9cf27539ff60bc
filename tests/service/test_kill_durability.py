"""kill -9 durability: every acknowledged observation survives sudden death of the server."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.app import open_store
from service.auth import Role, create_key
from service.settings import Settings
from tests.conftest import LiveServer, make_tower
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


def test_acknowledged_observations_survive_kill_9(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
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
    with sqlite3.connect(settings.store_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in db.execute("SELECT obs_id FROM observations")}
    missing = writer.acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged observations lost"
