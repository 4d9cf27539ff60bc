"""The ``/ws/overlays`` route: glue between FastAPI and :func:`serve_overlay_socket`.

The route also negotiates the subprotocol (:mod:`service.stream.versions`): a client
offering only subprotocols the server does not speak is refused at the handshake
(HTTP 403); otherwise the connection is accepted with ``blightmap.v1`` echoed when
the client offered it.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, WebSocket

from service.stream.protocol import CloseCode
from service.stream.runtime import StreamRuntime
from service.stream.socket import serve_overlay_socket
from service.stream.versions import choose_subprotocol

__all__ = ["STATE_KEY", "NegotiatedWebSocket", "router"]

STATE_KEY = "overlay_stream"  # app.state.overlay_stream holds the StreamRuntime

router = APIRouter()


class NegotiatedWebSocket(WebSocket):
    """A WebSocket whose :meth:`accept` echoes the negotiated subprotocol by default."""

    def __init__(self, websocket: WebSocket, subprotocol: str | None) -> None:
        super().__init__(websocket.scope, websocket.receive, websocket.send)
        self.subprotocol = subprotocol

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Accept the handshake, with ``subprotocol`` or else the negotiated one."""
        await super().accept(subprotocol or self.subprotocol, headers)


@router.websocket("/ws/overlays")
async def overlays_socket(websocket: WebSocket) -> None:
    """Live AR overlays around the viewer: see docs/ar-protocol.md."""
    runtime: StreamRuntime = getattr(websocket.app.state, STATE_KEY)
    speaks, subprotocol = choose_subprotocol(websocket.scope.get("subprotocols") or ())
    if not speaks:  # a close before accept: the server answers HTTP 403
        runtime.closed_codes[int(CloseCode.POLICY_VIOLATION)] += 1
        await websocket.close(int(CloseCode.POLICY_VIOLATION), "subprotocol")
        return
    await serve_overlay_socket(NegotiatedWebSocket(websocket, subprotocol), runtime)
