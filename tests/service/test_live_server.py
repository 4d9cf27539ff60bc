"""Real servers on loopback: the README's demo command and the OGC conformance suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server = LiveServer(tmp_path_factory.mktemp("demo"), "--demo")
    server.start(timeout_s=120)
    yield server  # type: ignore[misc]
    server.stop()


def test_demo_district_is_served(demo_server: LiveServer) -> None:
    items = demo_server.url + "/collections/{}/items"
    assert httpx.get(items.format("towers"), params={"limit": 1}).json()["numberMatched"] >= 40
    observations = httpx.get(items.format("observations"), params={"limit": 1}).json()
    assert observations["numberMatched"] >= 2_000
    towers = httpx.get(demo_server.url + "/collections/towers/items", params={"limit": 100}).json()
    tiers = [len(f["properties"]["tiers"]) for f in towers["features"]]
    assert min(tiers) >= 4 and max(tiers) <= 8


def test_ogctests_features_core_pass(demo_server: LiveServer, tmp_path: Path) -> None:
    report = tmp_path / "ogc.xml"
    code = (
        "import sys; from ogctests.main import run_ogctests; "
        f"sys.exit(run_ogctests('features/core', {demo_server.url!r}, "
        f"['-q', '-p', 'no:cacheprovider', '--junit-xml={report}', '-W', 'ignore']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] >= 25 and counts["failures"] == counts["errors"] == 0, counts
    assert counts["skipped"] == 0, counts
