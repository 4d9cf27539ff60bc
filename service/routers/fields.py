"""The blight field: metadata, a COG download, and values at positions (EDR-style)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Form, Query, Request, Response
from shapely.errors import ShapelyError

from geo.cog import grid_to_cog
from service.auth import Permission
from service.deps import StateDep, require
from service.errors import BadRequest, FieldError, NotModified
from service.fields import FieldSnapshot
from service.files import SpoolDep, etag_matches, file_response, get_and_head
from service.ogc import JSON, absolute, check_known_params, link
from service.responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["fields"], dependencies=[Depends(require(Permission.READ))])
MAX_POSITIONS = 10_000
_TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"


def _etag(snapshot: FieldSnapshot, what: str) -> str:
    return f'"blight-{what}-v{snapshot.data_version}"'


def _check_etag(request: Request, etag: str) -> None:
    if etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)


@router.get("/fields/blight", summary="The blight field: method, scores, version, bounds")
async def field_metadata(request: Request, state: StateDep) -> Response:
    """How the current field was made: method and parameters, LOO cross-validation
    scores, the data version it came from, its grid and bounds."""
    check_known_params(request, ())
    snapshot = await state.fields.current()
    etag = _etag(snapshot, "meta")
    _check_etag(request, etag)
    body = snapshot.metadata()
    body["links"] = [
        link(absolute(request, "/fields/blight"), "self", JSON, "this document"),
        link(absolute(request, "/fields/blight.tif"), "enclosure", _TIFF, "field as a COG"),
        link(absolute(request, "/fields/blight/position"), "data", JSON, "values at points"),
    ]
    return json_response(body, headers={"ETag": etag, "Cache-Control": "no-cache"})


@get_and_head(
    router,
    "/fields/blight.tif",
    summary="The field as a Cloud-Optimized GeoTIFF",
    responses={200: {"content": {_TIFF: {}}}, 206: {"description": "Partial content (Range)"}},
)
async def field_cog(request: Request, state: StateDep, spool: SpoolDep) -> Response:
    """Two float32 bands (intensity, standard error) in the district's UTM zone.

    Byte ranges, ``HEAD`` and ``If-None-Match`` as for every file (GDAL ``/vsicurl/``
    reads it over HTTP); the file is written once per data version."""
    check_known_params(request, ())
    snapshot = await state.fields.current()
    etag = _etag(snapshot, "cog")
    _check_etag(request, etag)
    tags = {"data_version": str(snapshot.data_version), "method": snapshot.result.method}
    path = await spool.path(
        "fields",
        f"blight-v{snapshot.data_version}.tif",
        partial(grid_to_cog, snapshot.result.grid, tags),
    )
    return file_response(request, path, media_type=_TIFF, etag=etag, filename="blight.tif")


def _parse_points(text: str, field: str) -> np.ndarray:
    try:
        geom = shapely.from_wkt(text)
    except (ShapelyError, ValueError):
        raise BadRequest(f"'{field}' is not WKT", [FieldError(field, "not valid WKT")]) from None
    if geom.geom_type not in ("Point", "MultiPoint") or geom.is_empty:
        reason = "must be POINT(lon lat) or MULTIPOINT((lon lat), ...)"
        raise BadRequest(f"'{field}' {reason}", [FieldError(field, reason)])
    coords = shapely.get_coordinates(geom)
    if len(coords) > MAX_POSITIONS:
        reason = f"at most {MAX_POSITIONS} points per request"
        raise BadRequest(reason, [FieldError(field, reason)])
    if not (np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)):
        reason = "longitude must be within [-180, 180] and latitude within [-90, 90]"
        raise BadRequest(reason, [FieldError(field, reason)])
    return coords


def _positions(snapshot: FieldSnapshot, lonlat: np.ndarray) -> dict[str, Any]:
    x, y = snapshot.frame.to_local(lonlat[:, 0], lonlat[:, 1])
    values, se = snapshot.result.grid.sample(np.asarray(x), np.asarray(y))
    features = []
    for (lon, lat), v, s in zip(lonlat.tolist(), values.tolist(), se.tolist(), strict=True):
        inside = v == v  # NaN outside the grid
        props = {"intensity": v if inside else None, "std_error": s if inside else None}
        if not inside:
            props["reason"] = "outside the field's grid"
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": props,
            }
        )
    return {
        "type": "FeatureCollection",
        "data_version": snapshot.data_version,
        "method": snapshot.result.method,
        "features": features,
    }


@router.get("/fields/blight/position", summary="Field value and standard error at a point")
async def position(
    request: Request,
    state: StateDep,
    coords: Annotated[
        str, Query(max_length=100_000, description="WKT POINT(lon lat) or MULTIPOINT")
    ],
) -> Response:
    """The value and standard error of the grid cell holding each point (EDR position)."""
    check_known_params(request, ("coords",))
    lonlat = _parse_points(coords, "coords")
    snapshot = await state.fields.current()
    return json_response(_positions(snapshot, lonlat), media_type="application/geo+json")


@router.post("/fields/blight/position", summary="Field values at many points (form)")
async def positions(
    request: Request,
    state: StateDep,
    coords: Annotated[
        str,
        Form(
            max_length=2_000_000, description="WKT MULTIPOINT((lon lat), ...), up to 10,000 points"
        ),
    ],
) -> Response:
    """As the GET, for up to 10,000 points sent as a form field."""
    check_known_params(request, ())
    lonlat = _parse_points(coords, "coords")
    snapshot = await state.fields.current()
    return json_response(_positions(snapshot, lonlat), media_type="application/geo+json")
