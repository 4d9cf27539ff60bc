"""``blightmap watch``: the reference client against a live stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.auth import Role
from service.cli import main
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.watch import stream_url
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
