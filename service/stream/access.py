"""Who may open the stream: the Origin allow-list, the bearer key of the handshake, and
the identity (key id and role) a key stands for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.auth import Role, resolve_record
from service.store import Store

__all__ = ["Identity", "active_key_ids", "bearer_key", "identify", "origin_allowed"]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated client: its key's id (never the key) and role."""

    key_id: str
    role: Role


def identify(store: Store, key: str) -> Identity | None:
    """The identity of an active key, or ``None`` (reads the store: call it in a thread)."""
    record = resolve_record(store, key)
    return None if record is None else Identity(record.key_id, Role(record.role))


def active_key_ids(store: Store) -> frozenset[str]:
    """The ids of every key not revoked (reads the store: call it in a thread)."""
    return frozenset(r.key_id for r in store.list_keys() if not r.revoked)


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
