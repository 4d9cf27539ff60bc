"""``/docs`` (Swagger UI) and ``/redoc`` (Redoc): the API documentation, offline.

FastAPI's own pages load both from a CDN and show a blank page without internet; these
load them from :mod:`service.vendor` (npm ``swagger-ui-dist`` and ``redoc``), like
``/map`` and ``/ar-preview``, and read ``/openapi.json``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse

from service.routers.preview import STATIC_DIR
from service.vendor import vendor_files

__all__ = ["CSP", "install"]

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
    " worker-src 'self' blob:; connect-src 'self'"
)
"""Nothing off the service: Redoc's sidebar shows Redocly's logo from its CDN (hidden
when it fails to load); the browser does not even ask for it."""
_HEADERS = {"Content-Security-Policy": CSP}


def install(app: FastAPI) -> None:
    """Add ``/docs``, its script and ``/redoc`` to ``app``."""
    router = APIRouter(tags=["documentation"])

    @router.get("/docs", summary="API documentation (Swagger UI)", response_class=HTMLResponse)
    def swagger(request: Request) -> FileResponse:
        """Try the API in the browser."""
        vendor_files(request).require("swagger-ui-dist")
        return FileResponse(STATIC_DIR / "docs.html", media_type="text/html", headers=_HEADERS)

    @router.get("/docs/docs.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.js", media_type="text/javascript")

    @router.get("/redoc", summary="API documentation (Redoc)", response_class=HTMLResponse)
    def redoc(request: Request) -> FileResponse:
        """The API reference, one page."""
        vendor_files(request).require("redoc")
        return FileResponse(STATIC_DIR / "redoc.html", media_type="text/html", headers=_HEADERS)

    app.include_router(router)
