"""``/assets/{hash}.glb``: content-addressed glTF assets of the AR overlays, cached forever."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from service.deps import StateDep
from service.errors import NotModified, ResourceNotFound

__all__ = ["router"]

router = APIRouter(tags=["ar"])
_HASH = re.compile(r"^[0-9a-f]{16,64}$")
GLB = "model/gltf-binary"


@router.get(
    "/assets/{asset_hash}.glb",
    summary="A glTF 2.0 binary asset of an overlay",
    responses={200: {"content": {GLB: {}}}},
)
async def get_asset(
    asset_hash: Annotated[str, Path(pattern=r"^[0-9a-f]{16,64}$")],
    request: Request,
    state: StateDep,
) -> Response:
    """The GLB whose content hash is ``asset_hash``; immutable, so cached for a year."""
    etag = f'"{asset_hash}"'
    if etag in request.headers.get("if-none-match", ""):
        raise NotModified(etag)
    data = state.assets.get(asset_hash) if _HASH.match(asset_hash) else None
    if data is None:
        raise ResourceNotFound("no asset with this hash (assets live as long as their overlays)")
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}
    return Response(data, media_type=GLB, headers=headers)
