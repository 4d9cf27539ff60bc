"""``/ar-preview``: a browser page rendering the AR overlays around a viewpoint in 3D.

three.js comes from npm (``make install`` runs ``npm ci``) and is served from
``node_modules`` under ``/vendor/three``: no CDN, works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

from service.errors import ApiError

__all__ = ["STATIC_DIR", "install"]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


class VendorMissing(ApiError):
    """three.js was not installed (``npm ci`` not run)."""

    status, title, slug = 503, "three.js missing", "vendor-missing"


def install(app: FastAPI, vendor_dir: Path) -> None:
    """Add the page, its script and the vendored three.js to ``app``."""
    router = APIRouter(tags=["ar"])
    three = vendor_dir / "three"

    @router.get(
        "/ar-preview",
        summary="3D preview of the AR overlays (browser)",
        response_class=HTMLResponse,
    )
    def page() -> FileResponse:
        """The preview page: ``?lon=&lat=&range=`` and the key in ``#key=``."""
        if not (three / "build" / "three.module.js").is_file():
            raise VendorMissing("three.js is not installed here: run `make install` (npm ci)")
        return FileResponse(STATIC_DIR / "ar-preview.html", media_type="text/html")

    @router.get("/ar-preview/ar-preview.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(STATIC_DIR / "ar-preview.js", media_type="text/javascript")

    app.include_router(router)
    if three.is_dir():
        app.mount("/vendor/three", StaticFiles(directory=three), name="three")
