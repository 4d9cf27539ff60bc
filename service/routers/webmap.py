"""``/map``: the planners' live web map (MapLibre GL JS, updated from ``/ws/overlays``).

MapLibre GL JS comes from npm (``make install`` runs ``npm ci``) and its ``dist`` files
are served under ``/vendor/maplibre-gl``, like three.js for ``/ar-preview``: no CDN, no
external basemap, the page works with no internet. Only the files the page needs are
served, each with its media type (browsers refuse a module script served as anything
but JavaScript).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse

from service.basemap import basemap_path
from service.errors import ResourceNotFound
from service.routers.preview import STATIC_DIR, VendorMissing

__all__ = ["MAPLIBRE_FILES", "PAGE_FILES", "install"]

MAPLIBRE_FILES: dict[str, str] = {
    "maplibre-gl.mjs": "text/javascript",
    "maplibre-gl-worker.mjs": "text/javascript",
    "maplibre-gl.css": "text/css",
    "maplibre-gl.mjs.map": "application/json",
    "maplibre-gl-worker.mjs.map": "application/json",
}
"""The MapLibre ``dist`` files served, with their media types."""

PAGE_FILES: dict[str, str] = {
    "map.js": "text/javascript",
    "map-colours.js": "text/javascript",
    "map-tower.js": "text/javascript",
    "map-labels.js": "text/javascript",
    "map.css": "text/css",
}
"""The page's own script modules and style sheet (``service/static/map*``)."""


class MapLibreMissing(VendorMissing):
    """MapLibre GL JS was not installed (``npm ci`` not run)."""

    title = "MapLibre GL JS missing"


def install(app: FastAPI, vendor_dir: Path, data_dir: Path) -> None:
    """Add ``/map``, its script and style sheet, the vendored MapLibre and the data
    directory's basemap (``/basemap.geojson``) to ``app``."""
    router = APIRouter(tags=["map"])
    dist = vendor_dir / "maplibre-gl" / "dist"

    @router.get("/map", summary="The planners' live map (browser)", response_class=HTMLResponse)
    def page() -> FileResponse:
        """The live map; the viewer key for the overlay stream goes in ``#key=``."""
        if not (dist / "maplibre-gl.mjs").is_file():
            raise MapLibreMissing("MapLibre GL JS is not installed here: run `make install`")
        return FileResponse(STATIC_DIR / "map.html", media_type="text/html")

    @router.get("/map/{name}", include_in_schema=False)
    def asset(name: Annotated[str, PathParam(max_length=64)]) -> FileResponse:
        if name not in PAGE_FILES:
            raise ResourceNotFound("no such file of the map page")
        return FileResponse(STATIC_DIR / name, media_type=PAGE_FILES[name])

    @router.get(
        "/basemap.geojson",
        summary="The offline basemap (buildings and streets), if one was imported",
        responses={404: {"description": "No basemap was imported"}},
    )
    def basemap() -> FileResponse:
        """Buildings and streets (``kind``) as GeoJSON, from ``blightmap basemap import``."""
        path = basemap_path(data_dir)
        if not path.is_file():
            raise ResourceNotFound("no basemap: import one with `blightmap basemap import FILE`")
        return FileResponse(path, media_type="application/geo+json")

    @router.get("/vendor/maplibre-gl/{name}", include_in_schema=False)
    def vendored(name: Annotated[str, PathParam(max_length=64)]) -> FileResponse:
        path = dist / name
        if name not in MAPLIBRE_FILES or not path.is_file():
            raise ResourceNotFound("no such MapLibre GL JS file here")
        return FileResponse(path, media_type=MAPLIBRE_FILES[name])

    app.include_router(router)
