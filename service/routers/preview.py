"""``/ar-preview``: a browser page rendering the AR overlays around a viewpoint in 3D.

three.js comes from npm and is served under ``/vendor/three`` by :mod:`service.vendor`
(from the wheel, or ``node_modules`` in a source tree): no CDN, works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse

from service.vendor import vendor_files

__all__ = ["STATIC_DIR", "install"]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def install(app: FastAPI) -> None:
    """Add the page and its script to ``app``."""
    router = APIRouter(tags=["ar"])

    @router.get("/ar-preview", summary="3D preview of the AR overlays (browser)")
    def page(request: Request) -> FileResponse:
        """The preview page: ``?lon=&lat=&range=`` and the key in ``#key=``."""
        vendor_files(request).require("three")
        return FileResponse(STATIC_DIR / "ar-preview.html", media_type="text/html")

    @router.get("/ar-preview/ar-preview.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(STATIC_DIR / "ar-preview.js", media_type="text/javascript")

    app.include_router(router)
