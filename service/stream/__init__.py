"""The live AR overlay stream ``/ws/overlays`` (protocol: docs/ar-protocol.md).

``hub`` and ``session`` are sans-I/O (no sockets, no asyncio); ``socket``,
``router``, ``runtime`` and ``server`` adapt them to Starlette and uvicorn.
"""

from service.stream.hub import HubStats, HubUnavailable, OverlayHub, Serializer
from service.stream.protocol import CloseCode, ErrorCode
from service.stream.session import Session, SessionState

__all__ = [
    "CloseCode",
    "ErrorCode",
    "HubStats",
    "HubUnavailable",
    "OverlayHub",
    "Serializer",
    "Session",
    "SessionState",
]
