"""Who may open the stream: the Origin allow-list and the bearer key of the handshake."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

__all__ = ["bearer_key", "origin_allowed"]


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Whether a handshake with ``Origin: origin`` to ``Host: host`` may proceed.

    No ``Origin`` (native clients) passes; so does the service's own host (any
    scheme), an origin listed in ``allowed`` (``scheme://host[:port]``, compared
    case-insensitively), or anything when ``allowed`` holds ``"*"``. ``null`` (file
    pages, sandboxed frames) passes only when listed.
    """
    if origin is None:
        return True
    wanted = origin.strip().lower().rstrip("/")
    listed = {a.strip().lower().rstrip("/") for a in allowed}
    if "*" in listed or wanted in listed:
        return True
    if wanted == "null" or not host:
        return False
    return urlsplit(wanted).netloc == host.strip().lower()


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or ``None``."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()
