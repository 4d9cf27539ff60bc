"""Protocol versions of ``/ws/overlays``: the ``blightmap.v1`` subprotocol and its minor.

The WebSocket subprotocol names the major version. A client offers it in
``Sec-WebSocket-Protocol`` and the server echoes it; a client that offers none is
served v1 too (older clients), one that offers only unknown subprotocols is refused
at the handshake. Within v1, versions are additive: a client that states a newer
``minor`` than the server's :data:`MINOR` may send members the server does not know,
and the server ignores them instead of refusing the message (without ``minor``, or
with one the server knows, an unknown member is a ``bad_request``: typos surface).
Clients ignore server members they do not know.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["MINOR", "SUBPROTOCOL", "choose_subprotocol", "is_newer"]

SUBPROTOCOL = "blightmap.v1"
MINOR = 1
"""Minor version of v1 this server speaks (1: accuracy_m, heading_deg, pose_frame, layer)."""


def choose_subprotocol(offered: Iterable[str]) -> tuple[bool, str | None]:
    """``(accept, subprotocol to echo)`` for the subprotocols a client offered.

    >>> choose_subprotocol([]), choose_subprotocol(["blightmap.v2", "blightmap.v1"])
    ((True, None), (True, 'blightmap.v1'))
    >>> choose_subprotocol(["mqtt"])
    (False, None)
    """
    names = [name.strip() for name in offered]
    if not names:
        return True, None
    if SUBPROTOCOL in names:
        return True, SUBPROTOCOL
    return False, None


def is_newer(message: Any) -> bool:
    """Whether a client message states a minor version newer than :data:`MINOR`."""
    minor = message.get("minor") if isinstance(message, dict) else None
    return isinstance(minor, int) and not isinstance(minor, bool) and minor > MINOR
