"""uvicorn's httptools protocol with the limits uvicorn lacks, asking a ConnectionGuard.

uvicorn (0.3x) sets no limit on the request head with httptools: the parser
concatenates a header line as it arrives, so one 80 MB header held the event loop for
20 s; and no timeout runs before the first request (its keep-alive timer is reset by
every byte), so idle connections accumulate until the file descriptors run out.
:func:`guarded_protocol` returns a subclass of uvicorn's ``HttpToolsProtocol`` that:

- answers **431** and closes when a request head exceeds ``max_header_bytes`` (counted
  before the parser sees the bytes) or holds more than ``max_headers`` fields;
- answers **408** and closes when a request head is not complete ``header_timeout_s``
  after the connection opened or the previous response ended (an idle connection
  that sent nothing is just closed); bytes do not reset this timer;
- answers **408** (or closes, once the response started) when a request body is not
  complete ``body_timeout_s`` after its head;
- asks :class:`~service.guard.connections.ConnectionGuard` whether a new connection may
  stay: refused ones get **503** with ``Retry-After`` and are closed at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.guard.connections import ConnectionGuard

__all__ = ["HttpLimits", "guarded_protocol"]


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Limits of one request (see the module docstring)."""

    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0


class _HeadTooLarge(Exception):
    """Raised from a parser callback: too many header fields (httptools then raises
    ``HttpParserCallbackError`` and uvicorn calls :meth:`send_400_response`)."""


def _response(status: bytes, text: str, extra: bytes = b"") -> bytes:
    body = text.encode("ascii")
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n"
        + extra
        + b"\r\n"
        + body
    )


_431 = _response(b"431 Request Header Fields Too Large", "request header fields too large")
_408 = _response(b"408 Request Timeout", "request timeout")
_503 = _response(b"503 Service Unavailable", "too many connections", b"retry-after: 1\r\n")


class GuardedHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` plus the guard (configure through :func:`guarded_protocol`)."""

    guard: ConnectionGuard
    limits: HttpLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._too_many_headers = False
        self._upgraded = False
        self._timer: asyncio.TimerHandle | None = None

    # -- what the guard reads --------------------------------------------------------

    @property
    def peer_ip(self) -> str:
        """The client's IP address."""
        return self.client[0] if self.client else ""

    @property
    def closed(self) -> bool:
        """Whether the transport is closing."""
        return self.transport is None or self.transport.is_closing()

    def evict(self) -> None:
        """Close this idle connection to make room for a new one."""
        self._cancel_timer()
        if not self.closed:
            self.transport.close()

    # -- asyncio protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        verdict = self.guard.admit(self)
        if verdict != "ok":
            transport.write(_503)
            transport.close()
            return
        self._arm(self.limits.header_timeout_s, self._head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.guard.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._upgraded or self.parser is None:
            return
        if self._in_head:
            allowance = self.limits.max_header_bytes - self._head_bytes
            if len(data) > allowance:  # feed what fits; the rest only if the head ended
                self._feed(data[: max(allowance, 0)])
                if self._in_head:
                    self._reject(_431, "headers_too_large")
                elif not self._upgraded and not self.closed and self.parser is not None:
                    self._feed(data[max(allowance, 0) :])
                return
            self._head_bytes += len(data)
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        if data:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error: a 431 when it was too many header fields."""
        if self._too_many_headers:
            self._reject(_431, "too_many_headers")
        else:
            super().send_400_response(msg)

    def handle_websocket_upgrade(self) -> None:
        self._cancel_timer()
        self._upgraded = True
        self._in_head = False
        self.guard.busy(self)
        super().handle_websocket_upgrade()

    # -- parser callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.guard.busy(self)
        if not self._in_head:  # a pipelined request: its head starts here
            self._in_head, self._head_bytes = True, 0
        self._header_count = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._too_many_headers = True
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_timer()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and cycle.more_body:
            self._arm(self.limits.body_timeout_s, self._body_timeout)

    def on_message_complete(self) -> None:
        self._cancel_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.closed or self.pipeline:
            return
        self.guard.idle(self)
        self._in_head = True
        self._head_bytes = 0
        self._arm(self.limits.header_timeout_s, self._head_timeout)

    # -- timers ----------------------------------------------------------------------

    def _arm(self, delay_s: float, callback: Any) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(delay_s, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timeout(self) -> None:
        self._timer = None
        if self.closed or self._upgraded or not self._in_head:
            return
        if self._head_bytes == 0:
            self.guard.note("idle_timeout")
            self.transport.close()
        else:
            self._reject(_408, "header_timeout")

    def _body_timeout(self) -> None:
        self._timer = None
        cycle = self.cycle
        if self.closed or cycle is None or not cycle.more_body or cycle.response_complete:
            return
        self.guard.note("body_timeout")
        cycle.disconnected = True
        cycle.message_event.set()
        if not cycle.response_started:
            self.transport.write(_408)
        self.transport.close()

    def _reject(self, response: bytes, event: str) -> None:
        self._cancel_timer()
        self.guard.note(event)
        if not self.closed:
            self.transport.write(response)
            self.transport.close()


def guarded_protocol(guard: ConnectionGuard, limits: HttpLimits) -> type[GuardedHttpProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` bound to ``guard`` and ``limits``."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"guard": guard, "limits": limits})


def fd_bounded(max_connections: int, reserve: int = 64) -> int:
    """``max_connections`` lowered to fit the process's file-descriptor limit.

    Connections past the soft ``RLIMIT_NOFILE`` would fail in ``accept()`` for everyone;
    ``reserve`` descriptors stay for the store, logs and worker pipes.
    """
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return max_connections
    if soft == resource.RLIM_INFINITY:
        return max_connections
    room = max(1, soft - reserve)
    return room if max_connections == 0 else min(max_connections, room)
