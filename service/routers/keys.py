"""Administration: API keys, and the audit log of deletions (admins only)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from geo.layer import TOWER_ID_PATTERN
from geo.observations import Source
from service.auth import Permission, Role, create_key
from service.body import parse_json, read_json_body
from service.deps import StateDep, require
from service.errors import FieldError, InvalidContent
from service.openapi_docs import json_body
from service.schemas.geojson import NO_NUL_PATTERN, StrictModel
from service.store import KeyRecord

__all__ = ["router"]

router = APIRouter(tags=["keys"], dependencies=[Depends(require(Permission.MANAGE_KEYS))])


MAX_SCOPED_TOWERS = 1000


class KeyScopes(StrictModel):
    """What a sensor key may report: only these sources, only about these towers.

    A member left out (or null) does not restrict. With ``tower_ids``, every
    observation must name one of them in ``tower_id``.
    """

    sources: Annotated[list[Source], Field(min_length=1, max_length=len(Source))] | None = None
    tower_ids: (
        Annotated[
            list[Annotated[str, StringConstraints(pattern=TOWER_ID_PATTERN)]],
            Field(min_length=1, max_length=MAX_SCOPED_TOWERS),
        ]
        | None
    ) = None


class KeyCreateIn(StrictModel):
    """A new key's role, an optional label (who or what holds it), and, for sensor
    keys, optional scopes."""

    role: Role
    label: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL_PATTERN)] = ""
    scopes: KeyScopes | None = None


class KeyPublic(BaseModel):
    """A key as listed: never the key itself."""

    key_id: str
    role: Role
    label: str
    created_at: datetime
    revoked: bool
    scopes: KeyScopes | None = None


class KeyCreated(KeyPublic):
    """The answer to a creation: the only time the key is shown."""

    key: str


@router.post(
    "/keys",
    status_code=201,
    response_model=KeyCreated,
    summary="Create an API key",
    openapi_extra=json_body(KeyCreateIn),
)
async def post_key(request: Request, state: StateDep) -> KeyCreated:
    """Create a key for a role; the key is in this answer and nowhere else."""
    wanted = parse_json(KeyCreateIn, await read_json_body(request))
    if wanted.scopes is not None and wanted.role is not Role.SENSOR:
        reason = "only sensor keys can be scoped to sources and towers"
        raise InvalidContent(reason, [FieldError("scopes", reason)])
    scopes = wanted.scopes or KeyScopes()
    key, record = await run_in_threadpool(
        partial(
            create_key,
            state.store,
            wanted.role,
            wanted.label,
            sources=None if scopes.sources is None else [s.value for s in scopes.sources],
            tower_ids=scopes.tower_ids,
        )
    )
    return KeyCreated(key=key, **_public(record).model_dump())


@router.get("/keys", response_model=list[KeyPublic], summary="List API keys")
async def list_keys(state: StateDep) -> list[KeyPublic]:
    """Every key, revoked ones included, without secrets."""
    return [_public(r) for r in await run_in_threadpool(state.store.list_keys)]


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(key_id: str, state: StateDep) -> Response:
    """Revoke a key; requests with it get 401 from now on."""
    await run_in_threadpool(state.store.revoke_key, key_id)
    return Response(status_code=204)


def _public(record: KeyRecord) -> KeyPublic:
    scoped = record.sources is not None or record.tower_ids is not None
    return KeyPublic(
        key_id=record.key_id,
        role=Role(record.role),
        label=record.label,
        created_at=record.created_at,
        revoked=record.revoked,
        scopes=KeyScopes.model_validate(
            {
                "sources": None if record.sources is None else list(record.sources),
                "tower_ids": None if record.tower_ids is None else list(record.tower_ids),
            },
            strict=False,
        )
        if scoped
        else None,
    )


class AuditPublic(BaseModel):
    """One audit record: who (key id), when, what action on which record, and details
    (for a deletion: the deleted feature and its digest)."""

    seq: int
    at: datetime
    key_id: str | None
    action: str
    target: str
    detail: dict[str, Any]


@router.get("/audit", response_model=list[AuditPublic], summary="The audit log, newest first")
async def audit_log(
    state: StateDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditPublic]:
    """The newest ``limit`` audit records (deleted observations and towers), newest first."""
    records = await run_in_threadpool(state.store.audit_log, limit)
    return [AuditPublic.model_validate(r, from_attributes=True) for r in records]
