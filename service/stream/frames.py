"""The ``blightmap.frames`` ASGI extension: write WebSocket text frames straight to the socket.

Through plain ASGI, every stream message to every client costs a task wake-up, a
``str`` round trip and a ``send`` through each middleware layer: with 1,000 clients
that is most of a fan-out's cost. ``websockets.broadcast()`` avoids all of it by
writing frames to the transports from the publishing call. This extension offers the
application the same, without giving up ASGI for everything else:

* :class:`FramesProtocol` is uvicorn's sans-I/O WebSocket protocol (the one uvicorn
  picks by default) that puts a :class:`FrameWriter` into the connection scope's
  ``extensions`` under :data:`EXTENSION`;
* :func:`frame_writer` finds it in a scope (``None`` under other servers, the test
  client included, where the application keeps to plain ASGI sends).

The writer only writes when the transport is not applying back-pressure
(:meth:`FrameWriter.can_write`); a slow client therefore still goes through the
awaited ASGI send, which waits for its socket to drain while its changes coalesce.
Everything runs on the event loop's thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["EXTENSION", "FrameWriter", "FramesProtocol", "frame_writer"]

EXTENSION = "blightmap.frames"


class FrameWriter:
    """Writes complete text frames to one connection's transport, synchronously."""

    __slots__ = ("_proto",)

    def __init__(self, proto: WebSocketsSansIOProtocol) -> None:
        self._proto = proto

    def can_write(self) -> bool:
        """Whether a frame can go out now: open, not closing, no back-pressure."""
        p = self._proto  # (the scope, and so the writer, exists once the handshake is done)
        return p.writable.is_set() and not p.close_sent and not p.transport.is_closing()

    def write_text(self, data: bytes) -> None:
        """Send ``data`` (UTF-8 JSON) as one text frame; raises if the connection closed."""
        p = self._proto
        p.conn.send_text(data)
        p.transport.write(b"".join(p.conn.data_to_send()))


class FramesProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, offering a :class:`FrameWriter` per connection."""

    def handle_connect(self, event: Any) -> None:
        """Accept the handshake as uvicorn does, then add the extension to the scope.

        The application's task is created by the parent method but starts only at the
        next turn of the event loop, so the scope is complete before it reads it.
        """
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][EXTENSION] = FrameWriter(self)


def frame_writer(scope: Mapping[str, Any]) -> FrameWriter | None:
    """The connection's :class:`FrameWriter`, or ``None`` when the server offers none."""
    extensions = scope.get("extensions") or {}
    writer = extensions.get(EXTENSION)
    return writer if isinstance(writer, FrameWriter) else None

