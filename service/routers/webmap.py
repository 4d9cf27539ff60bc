"""``/map``: the planners' live web map (MapLibre GL JS, updated from ``/ws/overlays``).

MapLibre GL JS comes from npm and is served under ``/vendor/maplibre-gl`` by
:mod:`service.vendor` (from the wheel, or ``node_modules`` in a source tree), like
three.js for ``/ar-preview``: no CDN, no external basemap, the page works with no
internet. The page's own files are served each with its media type (browsers refuse
a module script served as anything but JavaScript).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse

from service.errors import ResourceNotFound
from service.routers.preview import STATIC_DIR
from service.vendor import vendor_files

__all__ = ["PAGE_FILES", "install"]

PAGE_FILES: dict[str, str] = {
    "map.js": "text/javascript",
    "map-colours.js": "text/javascript",
    "map-tower.js": "text/javascript",
    "map.css": "text/css",
}
"""The page's own script modules and style sheet (``service/static/map*``)."""


def install(app: FastAPI) -> None:
    """Add ``/map`` and its script and style sheet to ``app``."""
    router = APIRouter(tags=["map"])

    @router.get("/map", summary="The planners' live map (browser)", response_class=HTMLResponse)
    def page(request: Request) -> FileResponse:
        """The live map; the viewer key for the overlay stream goes in ``#key=``."""
        vendor_files(request).require("maplibre-gl")
        return FileResponse(STATIC_DIR / "map.html", media_type="text/html")

    @router.get("/map/{name}", include_in_schema=False)
    def asset(name: Annotated[str, PathParam(max_length=64)]) -> FileResponse:
        if name not in PAGE_FILES:
            raise ResourceNotFound("no such file of the map page")
        return FileResponse(STATIC_DIR / name, media_type=PAGE_FILES[name])

    app.include_router(router)
