"""Tower create, replace and delete (OGC API - Features Part 4 style), for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from service.auth import Permission
from service.body import parse_json, read_json_body
from service.collections import tower_feature
from service.deps import StateDep, require
from service.errors import FieldError, InvalidContent
from service.ingest import check_new_tower
from service.ogc import GEOJSON, absolute
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.towers import TowerFeatureIn
from service.state import AppState
from service.store import KeyRecord

__all__ = ["router"]

router = APIRouter(tags=["towers"], dependencies=[Depends(require(Permission.MANAGE_TOWERS))])
_ITEMS = "/collections/towers/items"
_BODY = json_body(TowerFeatureIn, "application/geo+json", "application/json")
Admin = Annotated[KeyRecord | None, Depends(require(Permission.MANAGE_TOWERS))]


def _key_id(key: KeyRecord | None) -> str | None:
    return None if key is None else key.key_id


def _create(state: AppState, body: bytes, key: KeyRecord | None) -> dict[str, Any]:
    tower = parse_json(TowerFeatureIn, body).to_tower()
    check_new_tower(state, tower)
    state.store.create_tower(tower, _key_id(key))
    return tower_feature(tower)


def _replace(state: AppState, tower_id: str, body: bytes, key: KeyRecord | None) -> dict[str, Any]:
    tower = parse_json(TowerFeatureIn, body).to_tower()
    if tower.id != tower_id:
        raise InvalidContent(
            "the feature id must equal the tower id in the path",
            [FieldError("id", "differs from the id in the path")],
        )
    check_new_tower(state, tower)
    state.store.replace_tower(tower, _key_id(key))
    return tower_feature(tower)


def _geojson(feature: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    return json_response(feature, status, GEOJSON, headers)


@router.post(_ITEMS, status_code=201, summary="Create a tower", openapi_extra=_BODY)
async def create_tower(request: Request, state: StateDep, key: Admin) -> Response:
    """Add a tower given as a GeoJSON Feature whose ``id`` is the tower id (409 if taken)."""
    feature = await run_in_threadpool(_create, state, await read_json_body(request), key)
    state.fields.notify()  # the field, zones and AR overlays follow the new tower
    location = absolute(request, f"{_ITEMS}/{feature['id']}")
    return _geojson(feature, 201, {"Location": location})


@router.put(f"{_ITEMS}/{{tower_id}}", summary="Replace a tower", openapi_extra=_BODY)
async def replace_tower(tower_id: str, request: Request, state: StateDep, key: Admin) -> Response:
    """Replace an existing tower (404 if there is none)."""
    body = await read_json_body(request)
    feature = await run_in_threadpool(_replace, state, tower_id, body, key)
    state.fields.notify()
    return _geojson(feature, 200, {})


@router.delete(f"{_ITEMS}/{{tower_id}}", status_code=204, summary="Delete a tower")
async def delete_tower(tower_id: str, state: StateDep, key: Admin) -> Response:
    """Delete a tower (404 if there is none). Its observations are kept; the audit log
    records who deleted it, when, and the tower as it was."""
    await run_in_threadpool(state.store.delete_tower, tower_id, _key_id(key))
    state.fields.notify()
    return Response(status_code=204)
