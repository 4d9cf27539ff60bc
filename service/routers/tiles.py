"""Map tiles: raster (PNG/WebP) and vector (MVT) tiles of the district, and TileJSON 3.0.

``/tiles/{layer}/{tileMatrixSetId}/{z}/{x}/{y}.{format}`` renders from the in-memory
field (:mod:`geo.tiles`); ``/tiles/{layer}/{tileMatrixSetId}/tilejson.json`` describes
a layer with absolute tile URLs. Unknown layers, formats, tile matrix sets, zooms
outside the served range and tiles outside the matrix are 404 problems naming the
part at fault; bad query parameters are 400 problems naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import morecantile
from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from geo.tiles import (
    MEDIA_TYPES,
    MVT_MEDIA_TYPE,
    TILE_MATRIX_SETS,
    TILE_SIZES_PX,
    Tile,
    check_tile,
    render_raster_tile,
    render_vector_tile,
    tile_layer,
    tile_matrix_set,
)
from geo.tiles.catalog import RasterLayer, VectorLayer
from geo.tiles.errors import NoSuchTile
from service.auth import Permission
from service.deps import StateDep, require
from service.errors import NotModified, ResourceNotFound
from service.fields import FieldSnapshot
from service.ogc import absolute, bad_param, check_known_params, parse_int
from service.responses import json_response
from service.routers.forecasts import MANAGER_KEY
from service.state import AppState
from service.tiles import (
    CACHE_CONTROL,
    MAX_ZOOM,
    MIN_ZOOM,
    ForecastDays,
    TileSources,
    grid_bounds_wgs84,
    latest_forecast,
    layer_summary,
    tile_etag,
)

__all__ = ["router"]

_LIMITS = (
    f"Zoom levels {MIN_ZOOM} to {MAX_ZOOM}; tile matrix sets {', '.join(TILE_MATRIX_SETS)}; "
    f"raster tiles of {' or '.join(map(str, TILE_SIZES_PX))} px (`tilesize`, default 256, "
    "the same ground either way); `blight`, `uncertainty`, `forecast` as png or webp "
    "(lossless), `towers` and `zones` as mvt. `forecast` takes `day` (1 = the day after the "
    "field, default 1) within the latest finished forecast's days. `v` is ignored (a cache "
    "buster for clients).\n\nLayers:\n" + layer_summary()
)
router = APIRouter(tags=["tiles"], dependencies=[Depends(require(Permission.READ))])


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI query parameter (parsed by hand, for errors naming it plainly)."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


_TILESIZE = _query("tilesize", "Raster tile size in pixels", {"enum": list(TILE_SIZES_PX)})
_DAY = _query("day", "Forecast day (forecast layer only; default 1)", {"type": "integer"})
_V = _query("v", "Ignored: a cache buster for clients", {"type": "integer", "minimum": 0})
_FORMAT = _query("format", "Raster tile format in the URLs", {"enum": ["png", "webp"]})
_SOURCES_KEY = "tile_sources"
_TILE_PARAMS = ("tilesize", "day", "v")
TmsId = Annotated[str, Path(alias="tileMatrixSetId", description=" or ".join(TILE_MATRIX_SETS))]


def _sources(request: Request) -> TileSources:
    sources: TileSources | None = getattr(request.app.state, _SOURCES_KEY, None)
    if sources is None:
        sources = TileSources()
        setattr(request.app.state, _SOURCES_KEY, sources)
    return sources


def _forecast(request: Request) -> ForecastDays:
    forecast = latest_forecast(getattr(request.app.state, MANAGER_KEY, None))
    if forecast is None:
        raise ResourceNotFound("no forecast yet: POST /forecasts and wait until it is done")
    return forecast


def _day(request: Request, layer: str, forecast: ForecastDays | None) -> int | None:
    if forecast is None:
        if "day" in request.query_params:
            raise bad_param("day", f"applies only to the forecast layer, not to '{layer}'")
        return None
    return parse_int(request, "day", 1, 1, len(forecast.grids))


def _size(request: Request, info: RasterLayer | VectorLayer) -> int:
    if isinstance(info, VectorLayer):
        if "tilesize" in request.query_params:
            raise bad_param("tilesize", "applies only to raster tiles")
        return 256
    size = parse_int(request, "tilesize", 256, 1, 4096)
    if size not in TILE_SIZES_PX:
        raise bad_param("tilesize", f"must be {' or '.join(map(str, TILE_SIZES_PX))}")
    return size


def _check_format(info: RasterLayer | VectorLayer, fmt: str) -> None:
    formats = ("mvt",) if isinstance(info, VectorLayer) else tuple(MEDIA_TYPES)
    if fmt not in formats:
        raise NoSuchTile(f"'{info.name}' tiles are {' or '.join(formats)}", "format")


async def _renderer(
    request: Request,
    state: AppState,
    info: RasterLayer | VectorLayer,
    tile: tuple[morecantile.TileMatrixSet, Tile],
    params: dict[str, Any],
    forecast: ForecastDays | None,
) -> tuple[str, Callable[[], bytes]]:
    """The ETag of the tile (layer, data version, parameters) and a function rendering it."""
    tms, index = tile
    sources = _sources(request)
    if isinstance(info, VectorLayer):
        snapshot = await state.fields.current_or_none()
        towers = state.towers.current()
        version = f"t{towers.version}f{snapshot.data_version if snapshot else 'none'}"
        layers = {info.name: sources.features(info.name, towers, snapshot)}
        return tile_etag(info.name, version, params), partial(
            render_vector_tile, layers, tms, index
        )
    if forecast is not None:
        band = sources.forecast_band(forecast, params["day"])
        version = f"forecast{forecast.forecast_id}"
    else:
        snapshot = await state.fields.current()
        band = sources.field_band(snapshot, info.name)
        version = f"v{snapshot.data_version}"
    return tile_etag(info.name, version, params), partial(
        render_raster_tile, band, info.name, tms, index, params["tilesize"], params["format"]
    )


@router.get(
    "/tiles/{layer}/{tileMatrixSetId}/{z}/{x}/{y}.{format}",
    summary="A map tile (png, webp or mvt)",
    description=_LIMITS,
    responses={200: {"content": {"image/png": {}, "image/webp": {}, MVT_MEDIA_TYPE: {}}}},
    openapi_extra={"parameters": [_TILESIZE, _DAY, _V]},
)
async def tile(
    request: Request,
    state: StateDep,
    layer: str,
    tms_id: TmsId,
    z: int,
    x: int,
    y: int,
    fmt: Annotated[str, Path(alias="format", description="png, webp or mvt")],
) -> Response:
    """One tile; transparent (or empty) where the district has no data."""
    check_known_params(request, _TILE_PARAMS)
    tms = tile_matrix_set(tms_id)
    info = tile_layer(layer)
    _check_format(info, fmt)
    check_tile(tms, Tile(x, y, z), MIN_ZOOM, MAX_ZOOM)
    parse_int(request, "v", 0, 0, 10**15)
    forecast = _forecast(request) if info.name == "forecast" else None
    params = {
        "tms": tms_id,
        "z": z,
        "x": x,
        "y": y,
        "format": fmt,
        "tilesize": _size(request, info),
        "day": _day(request, layer, forecast),
    }
    etag, render = await _renderer(request, state, info, (tms, Tile(x, y, z)), params, forecast)
    if etag in request.headers.get("if-none-match", ""):
        raise NotModified(etag)
    data = await run_in_threadpool(render)
    media = MVT_MEDIA_TYPE if fmt == "mvt" else MEDIA_TYPES[fmt]
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    return Response(data, media_type=media, headers=headers)


def _bounds(state: AppState, snapshot: FieldSnapshot | None) -> tuple[float, float, float, float]:
    if snapshot is not None:
        return grid_bounds_wgs84(snapshot.result.grid)
    district = state.towers.current().district
    if district.bbox_wgs84 is None:
        raise ResourceNotFound("the district has no towers yet")
    return district.bbox_wgs84


@router.get(
    "/tiles/{layer}/{tileMatrixSetId}/tilejson.json",
    summary="TileJSON 3.0 of a layer",
    description=_LIMITS,
    openapi_extra={"parameters": [_FORMAT, _TILESIZE, _DAY]},
)
async def tilejson(request: Request, state: StateDep, layer: str, tms_id: TmsId) -> Response:
    """Absolute tile URLs, the district's bounds, the zoom range and, for vector layers,
    the fields of each layer. Query: ``format`` (png or webp), ``tilesize``, ``day``."""
    check_known_params(request, ("format", "tilesize", "day"))
    tile_matrix_set(tms_id)
    info = tile_layer(layer)
    fmt = request.query_params.get("format", "mvt" if isinstance(info, VectorLayer) else "png")
    if fmt not in (("mvt",) if isinstance(info, VectorLayer) else tuple(MEDIA_TYPES)):
        raise bad_param("format", "png or webp for raster layers; vector layers are mvt")
    forecast = _forecast(request) if info.name == "forecast" else None
    query = {"tilesize": _size(request, info)} if "tilesize" in request.query_params else {}
    if "day" in request.query_params:
        query["day"] = _day(request, layer, forecast) or 1
    if isinstance(info, VectorLayer) or info.name == "forecast":
        snapshot = await state.fields.current_or_none()
    else:
        snapshot = await state.fields.current()
    body = _tilejson_body(request, state, info, tms_id, fmt, query, snapshot, forecast)
    return json_response(body, headers={"Cache-Control": "no-cache"})


def _tilejson_body(
    request: Request,
    state: AppState,
    info: RasterLayer | VectorLayer,
    tms_id: str,
    fmt: str,
    query: dict[str, Any],
    snapshot: FieldSnapshot | None,
    forecast: ForecastDays | None,
) -> dict[str, Any]:
    template = absolute(request, f"/tiles/{info.name}/{tms_id}") + "/{z}/{x}/{y}." + fmt
    if query:
        template += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    west, south, east, north = _bounds(state, snapshot)
    version = snapshot.data_version if snapshot is not None else 0
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": f"blightmap {info.name}",
        "description": info.description,
        "version": f"1.{version}.0",
        "attribution": "blightmap: interpolated from the district's observations",
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, min(MAX_ZOOM, 15)],
        "blightmap:data_version": version,
    }
    if isinstance(info, VectorLayer):
        body["vector_layers"] = [
            {
                "id": info.name,
                "description": info.description,
                "fields": dict(info.fields),
                "minzoom": MIN_ZOOM,
                "maxzoom": MAX_ZOOM,
            }
        ]
    else:
        body["blightmap:legend"] = absolute(request, f"/legend/{info.name}.json")
    if forecast is not None:
        body["blightmap:forecast_id"] = forecast.forecast_id
        body["blightmap:days"] = forecast.days
    return body
