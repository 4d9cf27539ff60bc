"""API keys and roles.

Keys are 32 random bytes (URL-safe base64), shown once, stored as SHA-256 digests:
a key has enough entropy that a slow password hash adds nothing. Each role grants
a fixed set of permissions; ``admin`` holds them all.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from service.store import KeyRecord, Store

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Role",
    "create_key",
    "digest",
    "resolve_key",
    "resolve_record",
]

KEY_PREFIX = "bm_"


class Role(StrEnum):
    """Who a key belongs to."""

    ADMIN = "admin"
    PLANNER = "planner"
    SENSOR = "sensor"
    VIEWER = "viewer"


class Permission(StrEnum):
    """What a request needs."""

    READ = "read"
    OBSERVE = "observe"
    PLAN = "plan"
    MANAGE_TOWERS = "manage_towers"
    MANAGE_KEYS = "manage_keys"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.PLANNER: frozenset({Permission.READ, Permission.PLAN}),
    Role.SENSOR: frozenset({Permission.READ, Permission.OBSERVE}),
    Role.VIEWER: frozenset({Permission.READ}),
}


def digest(key: str) -> str:
    """SHA-256 hex digest of a key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: Store, role: Role, label: str = "") -> tuple[str, KeyRecord]:
    """Make a new random key for ``role``, store its digest, return ``(key, record)``.

    The key itself is not kept anywhere: the caller shows it once.
    """
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        key_id=secrets.token_hex(6),
        role=role.value,
        digest_hex=digest(key),
        created_at=datetime.now(UTC),
        label=label,
    )
    store.add_key(record)
    return key, record


def resolve_record(store: Store, key: str) -> KeyRecord | None:
    """The record of an active key, or ``None`` for an unknown or revoked key."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return store.find_key(digest(key))


def resolve_key(store: Store, key: str) -> Role | None:
    """The role of an active key, or ``None`` for an unknown or revoked key."""
    record = resolve_record(store, key)
    return None if record is None else Role(record.role)
