"""FastAPI dependencies: the app state, the store and role checks, as ``Annotated`` aliases."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
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

__all__ = ["Caller", "StateDep", "authorize", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def get_state(request: Request) -> AppState:
    """The :class:`AppState` built by ``create_app``."""
    state: AppState = request.app.state.blightmap
    return state


StateDep = Annotated[AppState, Depends(get_state)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a request: a key's id and role, or nobody (an open read)."""

    key_id: str | None
    role: Role | None
    record: KeyRecord | None = None  # the stored key (scopes, label); None for open reads

    @property
    def is_admin(self) -> bool:
        """Whether the key is an admin's (who sees every key's jobs)."""
        return self.role is Role.ADMIN


@functools.cache
def authorize(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """A dependency giving the :class:`Caller` whose key grants ``permission``.

    Reads (``Permission.READ``) pass without a key when ``open_reads`` is set. Any other
    permission is a write: it counts against the key's ``rate_limit_writes`` (429). One
    function per permission, so that a router's ``dependencies`` and an endpoint
    parameter resolve (and rate-count) the key once per request.
    """

    async def check(request: Request, state: StateDep, credentials: Credentials) -> Caller:
        if permission is Permission.READ and state.settings.open_reads and credentials is None:
            return Caller(None, None)
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
        return Caller(record.key_id, role, record)

    return check


def require(permission: Permission) -> Callable[..., object]:
    """A dependency that lets the request through only with a key granting ``permission``
    (route ``dependencies=[...]``; :func:`authorize` where the route needs the caller,
    :func:`key_record` where it needs the stored key)."""
    return authorize(permission)


@functools.cache
def key_record(permission: Permission) -> Callable[..., Awaitable[KeyRecord | None]]:
    """A dependency giving the stored key (``None`` for an open read) granting ``permission``."""
    dependency = authorize(permission)

    # a default, not Annotated: the annotation is a string here (future import) and could
    # not name this closure's ``dependency``
    async def record(caller: Caller = Depends(dependency)) -> KeyRecord | None:  # noqa: B008
        return caller.record

    return record
