"""``/schemas/...``: the JSON Schema of the AR stream protocol, for clients and validators.

``ar-protocol.schema.json`` refers to the OGC GeoPose Basic-Quaternion schema by the
relative name ``GeoPose.Basic.Quaternion.Schema.json``; both are served side by side,
and the protocol schema is served with its ``$id`` set to its URL on this service
(``Settings.base_url``), so a standard validator resolves the reference here.
Otherwise the documents are the very files the hub validates with.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from fastapi import APIRouter, Request, Response

from service.deps import StateDep
from service.errors import NotModified
from service.files import etag_matches
from service.stream.schema import geopose_schema, protocol_schema

__all__ = ["SCHEMA_JSON", "router"]

router = APIRouter(tags=["ar"])
SCHEMA_JSON = "application/schema+json"


@cache
def _document(name: str, base_url: str) -> tuple[bytes, str]:
    """The bytes and the ETag of a served schema."""
    if name == "ar-protocol":
        schema = {**protocol_schema(), "$id": f"{base_url}/schemas/ar-protocol.schema.json"}
    else:
        schema = geopose_schema()
    data = json.dumps(schema, indent=2, ensure_ascii=False).encode()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _serve(request: Request, state: StateDep, name: str) -> Response:
    data, etag = _document(name, state.settings.base_url)
    if etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
    return Response(data, media_type=SCHEMA_JSON, headers=headers)


@router.get(
    "/schemas/ar-protocol.schema.json",
    summary="JSON Schema of the /ws/overlays messages (blightmap.v1)",
    responses={200: {"content": {SCHEMA_JSON: {}}}},
)
def ar_protocol_schema(request: Request, state: StateDep) -> Response:
    """Every client and server message of the AR overlay stream (docs/ar-protocol.md)."""
    return _serve(request, state, "ar-protocol")


@router.get(
    "/schemas/ar-protocol.json",
    summary="The same document as /schemas/ar-protocol.schema.json",
    responses={200: {"content": {SCHEMA_JSON: {}}}},
)
def ar_protocol_schema_alias(request: Request, state: StateDep) -> Response:
    """The protocol schema under its short name."""
    return _serve(request, state, "ar-protocol")


@router.get(
    "/schemas/GeoPose.Basic.Quaternion.Schema.json",
    summary="OGC GeoPose 1.0 Basic-Quaternion schema, as the protocol schema refers to it",
    responses={200: {"content": {SCHEMA_JSON: {}}}},
)
def geopose_basic_quaternion_schema(request: Request, state: StateDep) -> Response:
    """The official OGC schema the viewer and overlay poses follow."""
    return _serve(request, state, "geopose")
