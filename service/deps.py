"""FastAPI dependencies: the app state, the store and role checks, as ``Annotated`` aliases."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.auth import ROLE_PERMISSIONS, Permission, Role, resolve_record
from service.errors import Forbidden, Unauthorized
from service.state import AppState
from service.store import KeyRecord

__all__ = ["StateDep", "require"]

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
    """

    async def check(state: StateDep, credentials: Credentials) -> KeyRecord | None:
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
        return record

    return check
