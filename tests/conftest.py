"""Shared test helpers: tower fixtures near Utrecht and a live-server runner."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from shapely.geometry import Point, box

from geo.layer import Tier, Tower

IN_CI = os.environ.get("BLIGHTMAP_CI") == "1"
ROOT = Path(__file__).resolve().parents[1]
VALIDATOR_SCRIPT = ROOT / "tests" / "ar_assets" / "validate_gltf.mjs"
Report = dict[str, Any]
ValidateGlb = Callable[[Sequence[bytes]], list[Report]]
ORIGIN = (5.1214, 52.0907)  # Utrecht: inside the ogctests bbox 5,48,20,70


def make_tower(
    i: int,
    *,
    lon: float | None = None,
    lat: float | None = None,
    polygon: bool = True,
    tiers: int = 5,
) -> Tower:
    """A tower ``i`` about 40 m east of the previous one."""
    lon = ORIGIN[0] + 0.0006 * (i % 10) if lon is None else lon
    lat = ORIGIN[1] + 0.0004 * (i // 10) if lat is None else lat
    footprint = box(lon, lat, lon + 0.00012, lat + 0.00008) if polygon else Point(lon, lat)
    return Tower(
        id=f"T{i:03d}",
        name=f"Tower {i}",
        district="Test",
        footprint_wgs84=footprint,
        base_height_m=45.0,
        height_m=3.0 * tiers + 2.0,
        tiers=tuple(Tier(level, 3.0 * level, "basil") for level in range(tiers)),
    )


@pytest.fixture
def towers() -> list[Tower]:
    """Twelve towers in a small grid."""
    return [make_tower(i) for i in range(12)]


def _missing_tool() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "gltf-validator" / "package.json").is_file():
        return "node_modules/gltf-validator is missing: run `npm ci` at the repository root"
    return None


@pytest.fixture(scope="session")
def validate_glb() -> ValidateGlb:
    """Validate GLBs with the Khronos glTF validator (one node process per call).

    Skips when node or the npm package is missing, unless ``BLIGHTMAP_CI=1``, where
    that is a failure.
    """
    reason = _missing_tool()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"glTF validator unavailable in CI: {reason}")
        pytest.skip(reason)

    def validate(glbs: Sequence[bytes]) -> list[Report]:
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for k, data in enumerate(glbs):
                path = Path(tmp) / f"asset{k}.glb"
                path.write_bytes(data)
                paths.append(str(path))
            done = subprocess.run(
                ["node", str(VALIDATOR_SCRIPT), *paths],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
                check=False,
            )
        assert done.returncode == 0, done.stderr
        reports: list[Report] = json.loads(done.stdout)
        assert len(reports) == len(glbs)
        return reports

    return validate


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """``blightmap serve`` in a child process on loopback."""

    def __init__(self, data_dir: Path, *extra: str, log: Path | None = None) -> None:
        self.data_dir = data_dir
        self.log = log  # the JSON log lines (stdout) go there when given
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--data",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.extra,
        ]
        if self.log is None:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            with self.log.open("ab") as out:
                self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited early: {err[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy in time")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def live_server_factory() -> Iterator[type[LiveServer]]:
    """Make live servers; every one started is stopped at the end of the test."""
    started: list[LiveServer] = []

    class Tracked(LiveServer):
        def start(self, timeout_s: float = 60.0) -> None:
            started.append(self)
            super().start(timeout_s)

    yield Tracked
    for server in started:
        server.stop()
