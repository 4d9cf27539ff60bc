"""The stream as the app holds it: hub, adapter settings, key check and open sockets.

:class:`StreamRuntime` is what ``create_app`` keeps on ``app.state.overlay_stream``;
its :meth:`~StreamRuntime.start` and :meth:`~StreamRuntime.aclose` belong in the
lifespan (``aclose`` closes every socket with 1001).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator

import anyio

from service.stream.access import Identity
from service.stream.config import StreamConfig
from service.stream.hub import OverlayHub
from service.stream.protocol import CloseCode

__all__ = ["Authenticate", "Connection", "StreamRuntime"]

log = logging.getLogger("blightmap.stream")

Authenticate = Callable[[str], Identity | None]
ActiveKeys = Callable[[], Collection[str]]


class Connection:
    """A connection handler's progress, and the watchdog of its sends.

    The handler's task may outlive the handler (ASGI servers and test clients run the
    app inside tasks of their own), so completion is an event, not the task's end.
    A send in progress records when it started; the runtime's watchdog cancels
    ``send_scope`` when one lasts longer than the send timeout. (One periodic check
    for all sockets costs far less than a timer per send: a per-send
    ``anyio.fail_after`` halved the fan-out throughput.)
    """

    __slots__ = ("busy", "done", "has_session", "send_scope", "sending_since", "timed_out")

    def __init__(self) -> None:
        self.has_session = False
        self.busy = False  # the send loop holds messages it has not sent yet
        self.done = asyncio.Event()
        self.sending_since: float | None = None
        self.send_scope: anyio.CancelScope | None = None
        self.timed_out = False

    def check_send(self, now: float, timeout_s: float) -> None:
        """Cancel the send in progress if it started more than ``timeout_s`` ago."""
        since = self.sending_since
        if since is not None and now - since > timeout_s and self.send_scope is not None:
            self.timed_out = True
            self.send_scope.cancel()


class StreamRuntime:
    """The hub, the adapter's settings, the key check, and the connection tasks.

    ``authenticate(key) -> Identity | None`` may block (it reads the store); the adapter
    runs it in a worker thread. ``active_keys() -> key ids`` (also in a thread) is asked
    every ``key_check_interval_s``: sessions of keys no longer listed (revoked, wherever
    that happened) are closed with 4031.
    """

    def __init__(
        self,
        hub: OverlayHub,
        config: StreamConfig,
        authenticate: Authenticate,
        active_keys: ActiveKeys | None = None,
    ) -> None:
        self.hub = hub
        self.config = config
        self.authenticate = authenticate
        self.active_keys = active_keys
        self.closed_codes: Counter[int] = Counter()  # close codes the server sent
        # stream messages sent: "direct" (frames written at once), "awaited" (ASGI send)
        self.sent: Counter[str] = Counter()
        self.closing = False
        self._connections: dict[asyncio.Task[object], Connection] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the periodic sweeps and send watchdog (idempotent; needs a running loop)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        config = self.config
        tick = min(config.sweep_interval_s, config.send_timeout_s / 4)
        last_sweep = last_key_check = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for conn in list(self._connections.values()):
                conn.check_send(now, config.send_timeout_s)
            if now - last_sweep >= config.sweep_interval_s:
                last_sweep = now
                try:
                    self.hub.sweep()
                except Exception:  # pragma: no cover - a bug must not stop the sweeps
                    log.exception("hub sweep failed")
            if self.active_keys is not None and now - last_key_check >= config.key_check_interval_s:
                last_key_check = now
                await self.check_keys()

    async def check_keys(self) -> int:
        """Close the sessions of keys no longer active (4031); how many were closed."""
        if self.active_keys is None:
            return 0
        try:
            active = await asyncio.to_thread(self.active_keys)
        except Exception:  # the store is unavailable: try again at the next check
            log.warning("could not read the active keys", exc_info=True)
            return 0
        ended = self.hub.revoke(active.__contains__)
        if ended:
            log.info("closed %d stream sessions of revoked keys", ended)
        return ended

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """Track the current handler (until the ``with`` block ends)."""
        task = asyncio.current_task()
        assert task is not None
        conn = Connection()
        self._connections[task] = conn
        try:
            yield conn
        finally:
            conn.done.set()
            self._connections.pop(task, None)

    @property
    def connections(self) -> int:
        """Open connections (authenticated or not)."""
        return len(self._connections)

    async def aclose(self, grace_s: float | None = None) -> None:
        """Close every socket with 1001 (going away) and stop the sweeps.

        Sessions are closed through the hub; sockets still authenticating are
        cancelled and close themselves. Waits up to ``grace_s`` (default: the close
        timeout plus one second), then cancels what is left.
        """
        self.closing = True
        self.hub.close_all(CloseCode.GOING_AWAY, "the server is shutting down")
        for task, conn in list(self._connections.items()):
            if not conn.has_session:
                task.cancel()  # still authenticating: the handler closes with 1001
        waits = [asyncio.ensure_future(c.done.wait()) for c in self._connections.values()]
        if waits:
            timeout = self.config.close_timeout_s + 1.0 if grace_s is None else grace_s
            await asyncio.wait(waits, timeout=timeout)
            for wait in waits:
                wait.cancel()
            for task in list(self._connections):  # handlers that did not finish in time
                task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
