"""JSON logs with request ids, each 500 logged once, and trusted proxies, on real servers."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from service.app import create_app
from service.observability.logs import configure_logging
from service.settings import Settings
from tests.conftest import LiveServer, free_port

pytestmark = pytest.mark.live


class Boom(RuntimeError):
    """A bug in a route."""


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[tuple[str, io.StringIO]]:
    """uvicorn on loopback (in a thread) serving the app plus a route with a bug; every
    log record, uvicorn's included, goes as JSON to the returned buffer."""
    app = create_app(Settings(data_dir=tmp_path))

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise Boom("a bug")

    buffer = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(stream=buffer)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", buffer
    finally:
        server.should_exit = True
        thread.join(10)
        root.handlers[:], root.level = saved


def records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_a_500_is_logged_once_with_its_traceback_and_request_id(
    failing_server: tuple[str, io.StringIO],
) -> None:
    url, buffer = failing_server
    r = httpx.get(url + "/boom", headers={"X-Request-ID": "trace-500"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["request_id"] == "trace-500" and "a bug" not in r.text
    httpx.get(url + "/conformance", headers={"X-Request-ID": "trace-ok"})
    time.sleep(0.2)
    lines = records(buffer)
    with_traceback = [rec for rec in lines if "traceback" in rec]
    assert len(with_traceback) == 1, lines
    assert with_traceback[0]["request_id"] == "trace-500"
    assert "Boom: a bug" in with_traceback[0]["traceback"]
    assert not any("Exception in ASGI application" in rec["message"] for rec in lines)
    access = {rec["request_id"]: rec for rec in lines if rec["logger"] == "blightmap.requests"}
    assert access["trace-500"]["status"] == 500 and access["trace-500"]["route"] == "/boom"
    assert access["trace-ok"]["status"] == 200 and access["trace-ok"]["level"] == "info"


def _client_seen(tmp_path: Path, *extra: str) -> str:
    log = tmp_path / "server.log"
    server = LiveServer(tmp_path / "data", *extra, log=log)
    server.start()
    try:
        r = httpx.get(
            server.url + "/conformance",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "fwd-check"},
        )
        assert r.status_code == 200
    finally:
        server.stop()
    lines = [line for line in log.read_text().splitlines() if line]
    access = [json.loads(line) for line in lines if '"fwd-check"' in line]
    assert len(access) == 1, lines
    client: str = access[0]["client"]
    return client


def test_forwarded_for_is_not_trusted_by_default(tmp_path: Path) -> None:
    assert _client_seen(tmp_path) == "127.0.0.1"


def test_forwarded_for_from_a_configured_proxy_is_trusted(tmp_path: Path) -> None:
    assert _client_seen(tmp_path, "--forwarded-allow-ips", "127.0.0.1") == "203.0.113.9"
