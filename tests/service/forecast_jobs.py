"""Shared helpers of the forecast job tests: small budgets, app, polling."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
SMALL: dict[str, Any] = {"horizon_days": 3, "runs": 10, "seed": 3}


def small_settings(data_dir: Path) -> Settings:
    """Settings with a small calibration and hindcast budget (the tests stay fast)."""
    return Settings(
        data_dir=data_dir,
        public_url="http://testserver",
        forecast_calibration_simulations=40,
        forecast_skill_runs=10,
        forecast_skill_horizons=(1, 3),
    )


def make_client(settings: Settings) -> TestClient:
    """A test client of a fresh app (use it as a context manager)."""
    return TestClient(create_app(settings), base_url="http://testserver")


def wait_job(
    client: TestClient, job_id: str, headers: dict[str, str], timeout_s: float = 60
) -> Any:
    """Poll ``/forecasts/{job_id}`` until the job is finished; its resource."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/forecasts/{job_id}", headers=headers).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']}"
        time.sleep(0.1)


def run_job(client: TestClient, headers: dict[str, str], path: str, **request: Any) -> Any:
    """POST ``request`` to ``path``, expect 202, wait for ``done``; the job resource."""
    r = client.post(path, json=request, headers=headers)
    assert r.status_code == 202, r.text
    body = wait_job(client, r.json()["id"], headers)
    assert body["status"] == "done", body
    return body
