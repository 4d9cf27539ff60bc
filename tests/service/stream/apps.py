"""A tiny app around the stream router, and a real uvicorn server for it in a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from service.auth import Role, create_key
from service.store.gpkg import GeoPackageStore
from service.stream.access import Identity, active_key_ids, identify
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.router import STATE_KEY, router
from service.stream.runtime import StreamRuntime
from service.stream.server import StreamServer
from tests.conftest import free_port

T = TypeVar("T")


class KeyStore:
    """A GeoPackage store in ``tmp`` with one key per role."""

    def __init__(self, tmp: Path) -> None:
        self.store = GeoPackageStore(tmp / "keys.gpkg")
        self.keys = {role: create_key(self.store, role)[0] for role in Role}

    @property
    def authenticate(self) -> Callable[[str], Identity | None]:
        return partial(identify, self.store)

    @property
    def active_keys(self) -> Callable[[], frozenset[str]]:
        return partial(active_key_ids, self.store)

    def close(self) -> None:
        self.store.close()


def stream_app(runtime: StreamRuntime) -> FastAPI:
    """The router alone, with the runtime started and closed by the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        app.state.loop = asyncio.get_running_loop()
        yield
        await runtime.aclose()

    app = FastAPI(lifespan=lifespan)
    setattr(app.state, STATE_KEY, runtime)
    app.include_router(router)
    return app


class LiveStream:
    """uvicorn (:class:`StreamServer`) serving :func:`stream_app` on loopback, in a thread."""

    def __init__(self, hub: OverlayHub, config: StreamConfig, keys: KeyStore) -> None:
        self.hub = hub
        self.runtime = StreamRuntime(hub, config, keys.authenticate, keys.active_keys)
        self.app = stream_app(self.runtime)
        self.port = free_port()
        uv_config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_max_size=config.max_message_bytes,
            lifespan="on",
        )
        self.server = StreamServer(uv_config, self.runtime)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/overlays"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the stream server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the server's event loop (the hub is not thread-safe)."""
        loop: asyncio.AbstractEventLoop = self.app.state.loop

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(10)
