"""Which connections the server keeps: a total cap, a per-IP cap, idle ones go first.

:class:`ConnectionGuard` is sans-I/O: the protocol calls :meth:`ConnectionGuard.admit`
when a connection is made and :meth:`ConnectionGuard.release` when it is lost. When the
server holds ``max_connections``, the connection idle the longest (connected, no
request in progress: the protocol reports :meth:`~ConnectionGuard.idle` and
:meth:`~ConnectionGuard.busy`) is closed to make room, so a flood of idle connections cannot lock
a new client out; only when every connection is busy is the newcomer refused. A client
IP past ``max_per_ip`` is refused. Connections handed over to another protocol (a
WebSocket upgrade) stay counted until their transport closes; closed ones are
purged lazily before any refusal and by :meth:`ConnectionGuard.purge`.

What was refused, evicted or timed out is logged as one summary line at most every
``log_every_s`` seconds (a flood must not flood the log too); events in between are
logged by a flush scheduled through ``later`` (the running event loop's
``call_later`` by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Literal, Protocol

__all__ = ["ConnectionGuard", "Guarded", "Verdict"]

log = logging.getLogger("blightmap.guard")


class Guarded(Protocol):
    """What the guard needs of a connection."""

    @property
    def peer_ip(self) -> str:
        """The client's IP address ("" when unknown)."""

    @property
    def closed(self) -> bool:
        """Whether the transport is closing or closed."""

    def evict(self) -> None:
        """Close the connection to make room (it is idle)."""


Verdict = Literal["ok", "per_ip", "full"]  # per_ip: too many from this IP; full: all busy


class ConnectionGuard:
    """Caps on open connections, in total and per client IP.

    Parameters
    ----------
    max_connections
        Most open connections (HTTP and WebSocket); 0 for no cap.
    max_per_ip
        Most open connections from one IP; 0 for no cap (behind a reverse proxy every
        connection comes from the proxy).
    clock
        Monotonic seconds.
    log_every_s
        Shortest interval between two summary log lines.
    later
        ``later(delay_s, callback)`` schedules the flush of a deferred summary.
    """

    def __init__(
        self,
        max_connections: int,
        max_per_ip: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        log_every_s: float = 1.0,
        later: Callable[[float, Callable[[], None]], object] | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        self._clock = clock
        self._log_every_s = log_every_s
        self._open: dict[Guarded, str] = {}
        self._per_ip: Counter[str] = Counter()
        self._idle: OrderedDict[Guarded, None] = OrderedDict()  # longest idle first
        self.events: Counter[str] = Counter()  # totals since start, for tests and metrics
        self._unlogged: Counter[str] = Counter()
        self._logged_at = -float("inf")
        self._later = later or _call_later
        self._flush_pending = False

    def __len__(self) -> int:
        return len(self._open)

    def per_ip(self, ip: str) -> int:
        """Open connections counted for ``ip``."""
        return self._per_ip[ip]

    def admit(self, conn: Guarded) -> Verdict:
        """Count ``conn`` in, or say why it is refused (evicting an idle one if full)."""
        ip = conn.peer_ip
        if self.max_per_ip and self._per_ip[ip] >= self.max_per_ip:
            self.purge()
            if self._per_ip[ip] >= self.max_per_ip:
                return self._note("refused_per_ip", "per_ip")
        if self.max_connections and len(self._open) >= self.max_connections:
            self.purge()
            if len(self._open) >= self.max_connections and not self._evict_idlest():
                return self._note("refused_full", "full")
        self._open[conn] = ip
        self._per_ip[ip] += 1
        self._idle[conn] = None  # waiting for its first request
        return "ok"

    def idle(self, conn: Guarded) -> None:
        """``conn`` finished a response and waits for the next request."""
        if conn in self._open:
            self._idle[conn] = None
            self._idle.move_to_end(conn)

    def busy(self, conn: Guarded) -> None:
        """``conn`` is receiving a request (or became a WebSocket): not evictable."""
        self._idle.pop(conn, None)

    def release(self, conn: Guarded) -> None:
        """``conn`` is gone (idempotent)."""
        ip = self._open.pop(conn, None)
        self._idle.pop(conn, None)
        if ip is not None:
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]

    def note(self, event: str) -> None:
        """Count an event of a connection (``header_timeout``, ``headers_too_large``...)."""
        self._note(event, "ok")

    def purge(self) -> None:
        """Forget connections whose transport closed without telling the guard."""
        for conn in [c for c in self._open if c.closed]:
            self.release(conn)

    def _evict_idlest(self) -> bool:
        if not self._idle:
            return False
        idlest = next(iter(self._idle))
        self.release(idlest)
        idlest.evict()
        self._note("evicted_idle", "ok")
        return True

    def flush(self) -> None:
        """Log the events not logged yet (one summary line)."""
        self._flush_pending = False
        if not self._unlogged:
            return
        self._logged_at = self._clock()
        summary = ", ".join(f"{k} {v}" for k, v in sorted(self._unlogged.items()))
        log.warning(
            "connection limits: %s (open %d, cap %d, per-IP cap %d)",
            summary,
            len(self._open),
            self.max_connections,
            self.max_per_ip,
        )
        self._unlogged.clear()

    def _note(self, event: str, verdict: Verdict) -> Verdict:
        self.events[event] += 1
        self._unlogged[event] += 1
        wait_s = self._logged_at + self._log_every_s - self._clock()
        if wait_s <= 0:
            self.flush()
        elif not self._flush_pending:
            self._flush_pending = True
            self._later(wait_s, self.flush)
        return verdict


def _call_later(delay_s: float, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # no loop (a plain test): the next event logs
        asyncio.get_running_loop().call_later(delay_s, callback)
