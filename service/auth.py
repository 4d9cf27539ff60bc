"""API keys and roles.

Keys are 32 random bytes (URL-safe base64), shown once, stored as SHA-256 digests:
a key has enough entropy that a slow password hash adds nothing. Each role grants
a fixed set of permissions; ``admin`` holds them all. A sensor key may further be
scoped to some sources and towers (:attr:`KeyRecord.sources`, ``tower_ids``):
:func:`scope_errors` says which observations fall outside.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from geo.observations import Observation
from service.store import KeyRecord, Store

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Role",
    "create_key",
    "digest",
    "resolve_key",
    "resolve_record",
    "scope_errors",
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
    MANAGE_DATA = "manage_data"  # delete observations (audited)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.PLANNER: frozenset({Permission.READ, Permission.PLAN}),
    Role.SENSOR: frozenset({Permission.READ, Permission.OBSERVE}),
    Role.VIEWER: frozenset({Permission.READ}),
}


def digest(key: str) -> str:
    """SHA-256 hex digest of a key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    store: Store,
    role: Role,
    label: str = "",
    *,
    sources: Sequence[str] | None = None,
    tower_ids: Sequence[str] | None = None,
) -> tuple[str, KeyRecord]:
    """Make a new random key for ``role``, store its digest, return ``(key, record)``.

    ``sources``/``tower_ids`` scope a sensor key (``None``: unrestricted). The key
    itself is not kept anywhere: the caller shows it once.

    Raises
    ------
    ValueError
        If scopes are given for a role other than ``sensor``.
    """
    if role is not Role.SENSOR and (sources is not None or tower_ids is not None):
        raise ValueError("only sensor keys can be scoped to sources and towers")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        key_id=secrets.token_hex(6),
        role=role.value,
        digest_hex=digest(key),
        created_at=datetime.now(UTC),
        label=label,
        sources=None if sources is None else tuple(dict.fromkeys(sources)),
        tower_ids=None if tower_ids is None else tuple(dict.fromkeys(tower_ids)),
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


def scope_errors(
    record: KeyRecord | None, observations: Sequence[Observation], prefix: str = "features"
) -> list[tuple[str, str]]:
    """``(field, reason)`` for each observation outside the key's scopes.

    A key scoped to towers must name one of them in every observation's
    ``tower_id``; a key scoped to sources may report only those. ``None`` (the
    command line) and unscoped keys may report anything.
    """
    if record is None:
        return []
    errors: list[tuple[str, str]] = []
    for i, obs in enumerate(observations):
        where = f"{prefix}.{i}.properties"
        if record.sources is not None and obs.source.value not in record.sources:
            allowed = ", ".join(record.sources)
            errors.append((f"{where}.source", f"this key may report only as: {allowed}"))
        if record.tower_ids is not None and obs.tower_id not in record.tower_ids:
            reason = (
                "this key is scoped to towers: name one of its towers"
                if obs.tower_id is None
                else "this key may not report about this tower"
            )
            errors.append((f"{where}.tower_id", reason))
    return errors
