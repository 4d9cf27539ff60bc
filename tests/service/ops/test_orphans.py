"""Worker processes die with their server: kill -9 the server mid-forecast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.live


def children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_forecast_workers_die_with_a_killed_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "keys",
            "create",
            "--role",
            "planner",
            "--data",
            str(data),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    key = made.stdout.decode().strip().splitlines()[-1]
    server = LiveServer(data, "--demo")
    server.start(timeout_s=180)
    assert server.proc is not None
    try:
        r = httpx.post(
            server.url + "/forecasts",
            json={"horizon_days": 14, "runs": 1000, "seed": 1},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 202
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:  # manager + pool worker
            time.sleep(0.2)
            workers = children(server.proc.pid)
        assert len(workers) >= 2
        time.sleep(1.0)  # the worker is computing now
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in workers):
            time.sleep(0.1)
        assert not [p for p in workers if alive(p)]
    finally:
        server.kill()
        for pid in workers if "workers" in locals() else ():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
