"""``/assets/{hash}.glb``: content-addressed glTF assets of the AR overlays, cached forever."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from service.deps import StateDep
from service.errors import NotModified, ResourceNotFound
from service.files import SpoolDep, etag_matches, file_response, get_and_head

__all__ = ["router"]

router = APIRouter(tags=["ar"])
_HASH = re.compile(r"^[0-9a-f]{16,64}$")
GLB = "model/gltf-binary"
_IMMUTABLE = "public, max-age=31536000, immutable"


@get_and_head(
    router,
    "/assets/{asset_hash}.glb",
    summary="A glTF 2.0 binary asset of an overlay",
    responses={200: {"content": {GLB: {}}}, 206: {"description": "Partial content (Range)"}},
)
async def get_asset(
    asset_hash: Annotated[str, Path(pattern=r"^[0-9a-f]{16,64}$")],
    request: Request,
    state: StateDep,
    spool: SpoolDep,
) -> Response:
    """The GLB whose content hash is ``asset_hash``; immutable, so cached for a year."""
    etag = f'"{asset_hash}"'
    if etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)
    data = state.assets.get(asset_hash) if _HASH.match(asset_hash) else None
    if data is None:
        raise ResourceNotFound("no asset with this hash (assets live as long as their overlays)")
    path = await spool.path("assets", f"{asset_hash}.glb", lambda: data)
    return file_response(request, path, media_type=GLB, etag=etag, cache_control=_IMMUTABLE)
