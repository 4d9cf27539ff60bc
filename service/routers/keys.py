"""API key management, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, StringConstraints
from starlette.concurrency import run_in_threadpool

from service.auth import Permission, Role, create_key
from service.body import parse_json, read_json_body
from service.deps import StateDep, require
from service.openapi_docs import json_body
from service.schemas.geojson import StrictModel

__all__ = ["router"]

router = APIRouter(tags=["keys"], dependencies=[Depends(require(Permission.MANAGE_KEYS))])


class KeyCreateIn(StrictModel):
    """A new key's role and an optional label (who or what holds it)."""

    role: Role
    label: Annotated[str, StringConstraints(max_length=200)] = ""


class KeyPublic(BaseModel):
    """A key as listed: never the key itself."""

    key_id: str
    role: Role
    label: str
    created_at: datetime
    revoked: bool


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
    key, record = await run_in_threadpool(create_key, state.store, wanted.role, wanted.label)
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


def _public(record: object) -> KeyPublic:
    return KeyPublic.model_validate(record, from_attributes=True)
