"""Jobs over HTTP with owners and limits (issue 11 finding 6, issue 14 finding 6).

Before: 60 exports in 1.7 s were all accepted, other planners' jobs were evicted,
any planner could cancel another's job, and ``DELETE`` on a finished export answered
200 and left its files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import Role, create_key
from service.demo import seed_demo
from service.routers.exports import MANAGER_KEY
from service.settings import Settings
from service.state import AppState
from tests.service.conftest import auth, collection, observation
from tests.service.test_exports_api import _wait

END = datetime(2026, 11, 1, 12, tzinfo=UTC)
QUICK = {"formats": ["cog"], "layers": ["blight"]}
SLOW = {"zooms": [17, 19], "formats": ["mbtiles", "pdf"], "print": {"paper": "A2", "dpi": 600}}

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """A client of an app on the demo district with ``settings`` overrides."""
    opened: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        app = create_app(Settings(data_dir=tmp_path / f"d{len(opened)}", **settings))
        client = TestClient(app, base_url="http://testserver").__enter__()
        opened.append(client)
        seed_demo(_state(client).store, seed=7, end=END)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.blightmap  # type: ignore[attr-defined]
    return state


def _key(client: TestClient, role: Role) -> dict[str, str]:
    return auth(create_key(_state(client).store, role)[0])


def test_a_planner_sees_and_dismisses_only_its_own_exports(make_client: MakeClient) -> None:
    client = make_client()
    alice, bob, admin = (_key(client, r) for r in (Role.PLANNER, Role.PLANNER, Role.ADMIN))
    job_id = client.post("/exports", json=QUICK, headers=alice).json()["id"]
    assert _wait(client, job_id, alice)["status"] == "done"
    for who in (bob, _key(client, Role.VIEWER), {}):  # to them the job does not exist
        assert client.get(f"/exports/{job_id}", headers=who).status_code == 404
        assert client.get(f"/exports/{job_id}/files/field.tif", headers=who).status_code == 404
    assert client.delete(f"/exports/{job_id}", headers=bob).status_code == 404
    assert client.get(f"/exports/{job_id}", headers=admin).json()["status"] == "done"
    assert client.get(f"/exports/{job_id}/files/field.tif", headers=alice).status_code == 200


def test_delete_on_a_finished_export_removes_it_and_its_files(make_client: MakeClient) -> None:
    client = make_client()
    planner = _key(client, Role.PLANNER)
    job_id = client.post("/exports", json=QUICK, headers=planner).json()["id"]
    assert _wait(client, job_id, planner)["status"] == "done"
    job = getattr(client.app.state, MANAGER_KEY).get(job_id)  # type: ignore[attr-defined]
    assert (job.directory / "field.tif").is_file()
    r = client.delete(f"/exports/{job_id}", headers=planner)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert not job.directory.exists()  # before: 200, and the files stayed
    assert client.get(f"/exports/{job_id}", headers=planner).status_code == 404


def test_an_admin_may_dismiss_anyones_job(make_client: MakeClient) -> None:
    client = make_client()
    planner, admin = _key(client, Role.PLANNER), _key(client, Role.ADMIN)
    job_id = client.post("/exports", json=SLOW, headers=planner).json()["id"]
    assert client.delete(f"/exports/{job_id}", headers=admin).json()["status"] == "dismissed"
    assert client.get(f"/exports/{job_id}", headers=planner).status_code == 404


def test_unfinished_jobs_per_key_are_capped(make_client: MakeClient) -> None:
    client = make_client(jobs_max_active_per_key=1)
    alice, bob = _key(client, Role.PLANNER), _key(client, Role.PLANNER)
    first = client.post("/exports", json=SLOW, headers=alice).json()["id"]
    refused = client.post("/exports", json=QUICK, headers=alice)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    other = client.post("/exports", json=QUICK, headers=bob)  # another key is not held up
    assert other.status_code == 202
    client.delete(f"/exports/{first}", headers=alice)
    assert client.post("/exports", json=QUICK, headers=alice).status_code == 202


def test_job_submissions_per_key_are_rate_limited(make_client: MakeClient) -> None:
    client = make_client(rate_limit_jobs="2/minute", jobs_max_active_per_key=10)
    alice, bob = _key(client, Role.PLANNER), _key(client, Role.PLANNER)
    codes = [client.post("/exports", json=QUICK, headers=alice).status_code for _ in range(2)]
    assert codes == [202, 202]
    refused = client.post("/exports", json=QUICK, headers=alice)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "2 per 1 minute" in refused.json()["detail"]
    assert client.post("/exports", json=QUICK, headers=bob).status_code == 202


def test_writes_per_key_are_rate_limited(make_client: MakeClient) -> None:
    client = make_client(rate_limit_writes="3/minute")
    sensor, other = _key(client, Role.SENSOR), _key(client, Role.SENSOR)
    body = collection([observation(1, observed_at="2026-11-01T09:00:00Z")])
    codes = [client.post("/observations", json=body, headers=sensor).status_code for _ in range(4)]
    assert all(200 <= c < 300 for c in codes[:3]) and codes[3] == 429, codes
    assert 200 <= client.post("/observations", json=body, headers=other).status_code < 300
    assert client.get("/collections/observations/items", headers=sensor).status_code == 200


def test_a_planner_sees_and_dismisses_only_its_own_forecasts(make_client: MakeClient) -> None:
    client = make_client()
    alice, bob = _key(client, Role.PLANNER), _key(client, Role.PLANNER)
    request = {"horizon_days": 30, "runs": 1000}
    job_id = client.post("/forecasts", json=request, headers=alice).json()["id"]
    assert client.get(f"/forecasts/{job_id}", headers=bob).status_code == 404
    assert client.get(f"/forecasts/{job_id}/probability.tif", headers=bob).status_code == 404
    assert client.delete(f"/forecasts/{job_id}", headers=bob).status_code == 404
    # the same request by another key is another job (not alice's, shared by cache)
    assert client.post("/forecasts", json=request, headers=bob).json()["id"] != job_id
    assert client.get(f"/forecasts/{job_id}", headers=alice).status_code == 200
    r = client.delete(f"/forecasts/{job_id}", headers=alice)
    assert r.json()["status"] == "dismissed"
