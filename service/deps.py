"""FastAPI dependencies: the app state, the store and role checks, as ``Annotated`` aliases."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.auth import ROLE_PERMISSIONS, Permission, Role, resolve_record
from service.errors import Forbidden, Unauthorized
from service.guard.rate import limit_rate
from service.state import AppState
from service.store import KeyRecord

__all__ = ["Caller", "StateDep", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def get_state(request: Request) -> AppState:
    """The :class:`AppState` built by ``create_app``."""
    state: AppState = request.app.state.blightmap
    return state


StateDep = Annotated[AppState, Depends(get_state)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@functools.cache
def require(permission: Permission) -> Callable[..., object]:
    """A dependency that lets the request through only with a key granting ``permission``.

    Reads (``Permission.READ``) pass without a key when ``open_reads`` is set. The
    dependency's value is the caller's :class:`KeyRecord` (``None`` for an open read);
    one function per permission, so that a router's ``dependencies`` and an endpoint
    parameter ``Annotated[KeyRecord | None, Depends(require(p))]`` resolve the key once.
    Any permission but ``read`` is a write: it counts against the key's
    ``rate_limit_writes`` (429 with ``Retry-After``).
    """

    async def check(
        request: Request, state: StateDep, credentials: Credentials
    ) -> KeyRecord | None:
        if permission is Permission.READ and state.settings.open_reads and credentials is None:
            return None
        if credentials is None:
            raise Unauthorized("this request needs an API key: Authorization: Bearer <key>")
        record = await run_in_threadpool(resolve_record, state.store, credentials.credentials)
        if record is None:
            raise Unauthorized("the API key is unknown or revoked")
        role = Role(record.role)
        if permission not in ROLE_PERMISSIONS[role]:
            raise Forbidden(f"the role '{role.value}' may not do this ({permission.value})")
        if permission is not Permission.READ:
            limit_rate(request.app.state, "write", record.key_id)
        return record

    return check


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a request: a key's id and role, or nobody (an open read)."""

    key_id: str | None
    role: Role | None

    @classmethod
    def of(cls, record: KeyRecord | None) -> Caller:
        """The caller of a request whose key resolved to ``record`` (``None``: no key)."""
        return cls(None, None) if record is None else cls(record.key_id, Role(record.role))

    @property
    def is_admin(self) -> bool:
        """Whether the key is an admin's (who sees every key's jobs)."""
        return self.role is Role.ADMIN
