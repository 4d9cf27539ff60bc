"""OGC API - Features: ``/collections`` and the items of each collection.

Item routes are registered per collection (``/collections/towers/items``...), so the
API definition spells each collection's query parameters exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import shapely.geometry
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from geo.observations import format_utc
from service.auth import Permission
from service.collections import PROVIDERS, CollectionProvider, ItemsQuery
from service.deps import StateDep, require
from service.errors import ResourceNotFound
from service.ogc import (
    CRS84,
    GEOJSON,
    JSON,
    PARAMETERS,
    absolute,
    check_known_params,
    link,
    page_links,
    parse_bbox,
    parse_datetime,
    parse_int,
)
from service.ogc_crs import check_offered, offered_crs, to_crs84_bbox, transform_geometry
from service.responses import json_response
from service.state import AppState

__all__ = ["build_router"]

_COMMON = ("bbox", "bbox-crs", "crs", "limit", "offset", "datetime")


def geojson(body: dict[str, Any], crs: str = CRS84) -> Response:
    """A GeoJSON response with its ``Content-Crs`` header."""
    return json_response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})


def collection_doc(request: Request, state: AppState, p: CollectionProvider) -> dict[str, Any]:
    """The collection description, identical in ``/collections`` and ``/collections/{id}``."""
    path = f"/collections/{p.id}"
    epsg = _district_epsg(state)
    return {
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "itemType": "feature",
        "geometryType": p.geometry_type,
        "extent": p.extent(state),
        "crs": offered_crs(epsg),
        "storageCrs": CRS84,
        "links": [
            link(absolute(request, path), "self", JSON, p.title),
            link(absolute(request, path + "/items"), "items", GEOJSON, "the features"),
        ],
    }


def _district_epsg(state: AppState) -> int | None:
    frame = state.towers.current().district.frame
    return None if frame is None else frame.epsg


def _parse_items_query(
    request: Request, state: AppState, p: CollectionProvider
) -> tuple[ItemsQuery, str]:
    check_known_params(request, _COMMON + p.extra_params)
    offered = offered_crs(_district_epsg(state))
    crs = check_offered(request.query_params.get("crs", CRS84), offered, "crs")
    bbox = parse_bbox(request.query_params.get("bbox"))
    bbox_crs = check_offered(request.query_params.get("bbox-crs", CRS84), offered, "bbox-crs")
    if bbox is not None:
        bbox = to_crs84_bbox(bbox, bbox_crs)
    start, end = parse_datetime(request.query_params.get("datetime"))
    settings = state.settings
    query = ItemsQuery(
        bbox_crs84=bbox,
        start=start,
        end=end,
        limit=parse_int(request, "limit", settings.default_page_limit, 1, settings.max_page_limit),
        offset=parse_int(request, "offset", 0, 0, 10**12),
        filters={k: request.query_params[k] for k in p.extra_params if k in request.query_params},
    )
    return query, crs


def _reproject(feature: dict[str, Any], crs: str) -> dict[str, Any]:
    if crs != CRS84:
        geom = transform_geometry(shapely.geometry.shape(feature["geometry"]), crs)
        feature["geometry"] = shapely.geometry.mapping(geom)
    return feature


def _items_endpoint(p: CollectionProvider) -> Callable[..., Any]:
    async def items(request: Request, state: StateDep) -> Response:
        query, crs = _parse_items_query(request, state, p)
        field = await state.fields.current_or_none() if p.needs_field else None
        features, matched = await run_in_threadpool(p.items, state, query, field)
        body = {
            "type": "FeatureCollection",
            "timeStamp": format_utc(datetime.now(UTC)),
            "numberMatched": matched,
            "numberReturned": len(features),
            "features": [_reproject(f, crs) for f in features],
            "links": page_links(
                request, f"/collections/{p.id}", query.limit, query.offset, len(features), matched
            ),
        }
        return geojson(body, crs)

    return items


def _item_endpoint(p: CollectionProvider) -> Callable[..., Any]:
    async def item(feature_id: str, request: Request, state: StateDep) -> Response:
        check_known_params(request, ("crs",))
        crs = check_offered(
            request.query_params.get("crs", CRS84), offered_crs(_district_epsg(state)), "crs"
        )
        field = await state.fields.current_or_none() if p.needs_field else None
        feature = await run_in_threadpool(p.item, state, feature_id, field)
        if feature is None:
            raise ResourceNotFound(f"no feature with that id in '{p.id}'")
        path = f"/collections/{p.id}"
        feature["links"] = [
            link(absolute(request, f"{path}/items/{feature_id}"), "self", GEOJSON, "this feature"),
            link(absolute(request, path), "collection", JSON, p.title),
        ]
        return geojson(_reproject(feature, crs), crs)

    return item


def build_router() -> APIRouter:
    """The collections router with one items route pair per provider."""
    router = APIRouter(tags=["features"], dependencies=[Depends(require(Permission.READ))])

    @router.get("/collections", summary="Feature collections")
    def collections(request: Request, state: StateDep) -> dict[str, Any]:
        """Every collection with its extent and offered CRSs."""
        return {
            "collections": [
                collection_doc(request, state, p) for p in PROVIDERS.values() if p.listed(state)
            ],
            "links": [link(absolute(request, "/collections"), "self", JSON, "collections")],
        }

    for p in PROVIDERS.values():
        _add_collection_routes(router, p)
    return router


def _add_collection_routes(router: APIRouter, p: CollectionProvider) -> None:
    params = [PARAMETERS[n] for n in _COMMON + p.extra_params]

    def describe(request: Request, state: StateDep) -> dict[str, Any]:
        return collection_doc(request, state, p)

    router.add_api_route(
        f"/collections/{p.id}", describe, summary=f"Collection '{p.id}'", methods=["GET"]
    )
    router.add_api_route(
        f"/collections/{p.id}/items",
        _items_endpoint(p),
        methods=["GET"],
        summary=f"Features of '{p.id}'",
        openapi_extra={"parameters": params},
        responses={200: {"content": {GEOJSON: {}}}},
    )
    router.add_api_route(
        f"/collections/{p.id}/items/{{feature_id}}",
        _item_endpoint(p),
        methods=["GET"],
        summary=f"One feature of '{p.id}'",
        openapi_extra={"parameters": [PARAMETERS["crs"]]},
        responses={200: {"content": {GEOJSON: {}}}},
    )
