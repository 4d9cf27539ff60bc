"""``blightmap watch``: the reference client against a live stream."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from service.auth import Role
from service.cli import main
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.watch import stream_url
from tests.conftest import ROOT, free_port
from tests.service.stream.apps import KeyStore, LiveStream
from tests.service.stream.helpers import ORIGIN, overlay, serialize


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveStream, KeyStore]]:
    keys = KeyStore(tmp_path)
    server = LiveStream(OverlayHub(serialize, origin_lonlat=ORIGIN), StreamConfig(), keys)
    server.start()
    yield server, keys
    server.stop()
    keys.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ws://127.0.0.1:8000", "ws://127.0.0.1:8000/ws/overlays"),
        ("http://h:1/", "ws://h:1/ws/overlays"),
        ("https://h/custom/path", "wss://h/custom/path"),
    ],
)
def test_stream_url(url: str, expected: str) -> None:
    assert stream_url(url) == expected


@pytest.mark.live
def test_watch_once_prints_the_snapshot(
    live: tuple[LiveStream, KeyStore], capsys: pytest.CaptureFixture[str]
) -> None:
    server, keys = live
    server.call(server.hub.publish, [overlay("T001-marker", 30), overlay("far", 900)], [])
    argv = ["watch", "--lon", str(ORIGIN[0]), "--lat", str(ORIGIN[1]), "--range", "200"]
    argv += ["--url", f"ws://127.0.0.1:{server.port}", "--key", keys.keys[Role.VIEWER], "--once"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "T001-marker" in out and "tower_marker" in out and "enter" in out
    assert "far" not in out.split("T001-marker", 1)[1]
    assert " 30 " in out  # the distance column, metres


@pytest.mark.live
def test_watch_with_a_bad_key_fails(
    live: tuple[LiveStream, KeyStore], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = live
    argv = ["watch", "--lon", "5.1", "--lat", "52.1", "--once"]
    argv += ["--url", f"ws://127.0.0.1:{server.port}", "--key", "bm_wrong"]
    assert main(argv) == 1


def _watch_process(*args: str) -> subprocess.Popen[str]:
    """``blightmap watch`` with its output on a pipe, as in ``watch | grep`` or a log."""
    cmd = [sys.executable, "-m", "service.cli", "watch", *args]
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The lines of ``stream`` as they come, read by a thread."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in stream], daemon=True).start()
    return lines


def _next(lines: queue.Queue[str], timeout_s: float = 20) -> list[str]:
    """The words of the next line (fails after ``timeout_s``: output held back)."""
    try:
        return lines.get(timeout=timeout_s).split()
    except queue.Empty:
        raise AssertionError(f"no line in {timeout_s} s") from None


@pytest.mark.live
def test_watch_on_a_pipe_prints_a_line_per_change_as_it_comes(
    live: tuple[LiveStream, KeyStore],
) -> None:
    server, keys = live
    server.call(server.hub.publish, [overlay("T001-marker", 30)], [])
    proc = _watch_process(
        "--lon", str(ORIGIN[0]), "--lat", str(ORIGIN[1]), "--range", "200",
        "--url", f"http://127.0.0.1:{server.port}", "--key", keys.keys[Role.VIEWER],
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        out, err = _lines(proc.stdout), _lines(proc.stderr)
        assert _next(err) == ["connected", "to", f"ws://127.0.0.1:{server.port}/ws/overlays"]
        assert _next(out)[:5] == ["enter", "T001-marker", "tower_marker", "v1", "30"]
        server.call(server.hub.publish, [overlay("T001-marker", 40, version=2)], [])
        assert _next(out)[:5] == ["update", "T001-marker", "tower_marker", "v2", "40"]
        server.call(server.hub.publish, [], ["T001-marker"])
        assert _next(out)[:2] == ["leave", "T001-marker"]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.live
def test_watch_json_prints_json_lines(live: tuple[LiveStream, KeyStore]) -> None:
    server, keys = live
    server.call(server.hub.publish, [overlay("a", 10), overlay("b", 50), overlay("far", 900)], [])
    proc = _watch_process(
        "--lon", str(ORIGIN[0]), "--lat", str(ORIGIN[1]), "--range", "200", "--json", "--once",
        "--url", f"http://127.0.0.1:{server.port}", "--key", keys.keys[Role.VIEWER],
    )  # fmt: skip
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["id"] for r in records) == ["a", "b"]
    by_id = {r["id"]: r for r in records}
    assert by_id["b"]["event"] == "enter" and by_id["b"]["kind"] == "tower_marker"
    assert by_id["b"]["distance_m"] == pytest.approx(50, abs=0.5)
    assert by_id["a"]["overlay"]["version"] == 1


def test_watch_names_an_unreachable_server_at_once() -> None:
    port = free_port()
    started = time.monotonic()
    proc = _watch_process("--lon", "5.1", "--lat", "52.1", "--url", f"http://127.0.0.1:{port}")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert time.monotonic() - started < 8  # was 27 s of silent retries
    assert f"cannot connect to ws://127.0.0.1:{port}/ws/overlays" in err
    assert "--url" in err


def test_watch_gives_up_on_a_silent_server_after_the_connect_timeout() -> None:
    with socket.socket() as silent:  # accepts TCP (backlog) but never answers the handshake
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        proc = _watch_process(
            "--lon", "5.1", "--lat", "52.1", "--url", f"http://127.0.0.1:{port}",
            "--connect-timeout", "1",
        )  # fmt: skip
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert time.monotonic() - started < 7
    assert f"no answer from ws://127.0.0.1:{port}/ws/overlays in 1 s" in err


def test_watch_help_names_the_default_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["watch", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--url URL" in out and "default http://127.0.0.1:8000" in out
    assert "--json" in out and "--connect-timeout" in out
