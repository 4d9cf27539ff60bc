"""The ``/ws/overlays`` route: glue between FastAPI and :func:`serve_overlay_socket`."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from service.stream.runtime import StreamRuntime
from service.stream.socket import serve_overlay_socket

__all__ = ["STATE_KEY", "router"]

STATE_KEY = "overlay_stream"  # app.state.overlay_stream holds the StreamRuntime

router = APIRouter()


@router.websocket("/ws/overlays")
async def overlays_socket(websocket: WebSocket) -> None:
    """Live AR overlays around the viewer: see docs/ar-protocol.md."""
    runtime: StreamRuntime = getattr(websocket.app.state, STATE_KEY)
    await serve_overlay_socket(websocket, runtime)
