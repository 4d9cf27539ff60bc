"""Legends of the raster tile layers, from the same colormaps as the tiles."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from geo.tiles import legend, legend_png
from service.auth import Permission
from service.deps import require
from service.ogc import check_known_params, parse_int
from service.responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["tiles"], dependencies=[Depends(require(Permission.READ))])
_CACHE = {"Cache-Control": "public, max-age=3600"}


@router.get("/legend/{layer}.json", summary="Legend of a raster layer as data")
def legend_json(request: Request, layer: str) -> Response:
    """Stops (value -> ``#rrggbb``) of the layer's colormap, with units and label.
    Query: ``stops`` (2 to 256, default 11)."""
    check_known_params(request, ("stops",))
    stops = parse_int(request, "stops", 11, 2, 256)
    return json_response(legend(layer, stops), headers=_CACHE)


@router.get(
    "/legend/{layer}.png",
    summary="Legend of a raster layer as an image",
    responses={200: {"content": {"image/png": {}}}},
)
async def legend_image(request: Request, layer: str) -> Response:
    """A colour bar of the layer's colormap (24 px high) with its end and middle values.
    Query: ``width`` in pixels (64 to 2048, default 256)."""
    check_known_params(request, ("width",))
    width = parse_int(request, "width", 256, 64, 2048)
    data = await run_in_threadpool(legend_png, layer, width)
    return Response(data, media_type="image/png", headers=_CACHE)
