"""``StreamServer``: the frames protocol by default, and the frozen start-up heap."""

from __future__ import annotations

import gc
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI

from service.stream.frames import FramesProtocol
from service.stream.server import StreamServer
from tests.conftest import free_port

pytestmark = pytest.mark.live


def _serve(freeze_heap: bool) -> int:
    """Start and stop a server; the permanent generation's size while it ran."""
    config = uvicorn.Config(FastAPI(), host="127.0.0.1", port=free_port(), log_level="warning")
    server = StreamServer(config, None, freeze_heap=freeze_heap)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.01)
        assert config.ws is FramesProtocol
        frozen_by = time.monotonic() + 2  # startup() freezes right after setting `started`
        while gc.get_freeze_count() == 0 and time.monotonic() < frozen_by:
            time.sleep(0.01)
        return gc.get_freeze_count()
    finally:
        server.should_exit = True
        thread.join(15)
        gc.unfreeze()


def test_freeze_heap_moves_the_start_up_heap_to_the_permanent_generation() -> None:
    gc.unfreeze()
    assert _serve(freeze_heap=False) == 0
    assert _serve(freeze_heap=True) > 10_000  # the modules and the app at least
