"""``/metrics``: requests by route template, ingestion, WebSockets, jobs, field time."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from geo.layer import Tower
from service.app import create_app
from service.settings import Settings
from tests.service.conftest import auth, collection, observation


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    for feature_id in ("a", "b", "c"):
        assert client.get(f"/collections/towers/items/{feature_id}").status_code == 404
    client.get("/no/such/path")
    samples = scrape(client)
    route = "/collections/towers/items/{feature_id}"
    templated = (("method", "GET"), ("route", route), ("status", "404"))
    assert samples[("blightmap_http_requests_total", templated)] == 3
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert samples[("blightmap_http_requests_total", unmatched)] == 1
    count = ("blightmap_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))
    assert samples[count] == 3
    assert not any("/a" in dict(labels).get("route", "") for _, labels in samples)


def test_ingestion_field_time_and_websockets(
    client: TestClient, keys: dict[str, str], seeded: list[Tower]
) -> None:
    features = [observation(i, observed_at="2026-11-20T10:00:00Z") for i in range(5)]
    r = client.post("/observations", json=collection(features), headers=auth(keys["sensor"]))
    assert r.status_code == 201
    client.post("/observations", json=collection(features[:2]), headers=auth(keys["sensor"]))
    assert client.get("/fields/blight").status_code == 200
    with client.websocket_connect("/ws/overlays") as ws:
        assert scrape(client)[("blightmap_websocket_connections", ())] == 1
        ws.send_text(json.dumps({"type": "auth", "key": "bm_nope"}))
        assert ws.receive()["code"] == 1008
    samples = scrape(client)
    assert samples[("blightmap_observations_ingested_total", (("outcome", "new"),))] == 5
    assert samples[("blightmap_observations_ingested_total", (("outcome", "known"),))] == 2
    assert samples[("blightmap_field_recompute_seconds_count", ())] >= 1
    assert samples[("blightmap_websocket_connections", ())] == 0
    assert samples[("blightmap_websocket_closed_total", (("code", "1008"),))] == 1
    assert samples[("blightmap_stream_sessions", (("state", "sessions"),))] == 0


def jobs(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], kind: str) -> float:
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "blightmap_jobs" and ("kind", kind) in labels
    )


def test_job_tables_are_reported(
    client: TestClient, keys: dict[str, str], seeded: list[Tower]
) -> None:
    samples = scrape(client)
    assert jobs(samples, "exports") == 0 and jobs(samples, "forecasts") == 0
    features = [observation(i, observed_at="2026-11-20T10:00:00Z") for i in range(5)]
    client.post("/observations", json=collection(features), headers=auth(keys["sensor"]))
    r = client.post(
        "/exports", json={"formats": ["cog"], "layers": ["blight"]}, headers=auth(keys["planner"])
    )
    assert r.status_code == 202
    assert jobs(scrape(client), "exports") == 1


def test_metrics_need_a_key_when_reads_do(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, open_reads=False))) as c:
        assert c.get("/metrics").status_code == 401
