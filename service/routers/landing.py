"""Landing page, conformance declaration and API definition (health: service.health)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.ogc import HTML, JSON, OPENAPI_JSON, absolute, link
from service.openapi30 import to_openapi30
from service.responses import json_response

__all__ = ["CONFORMANCE", "router"]

router = APIRouter(tags=["service"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
]


@router.get("/", summary="Landing page")
def landing(request: Request) -> Response:
    """Links to the API definition, the conformance declaration and the data."""
    links = [
        link(absolute(request, "/"), "self", JSON, "this document"),
        link(absolute(request, "/api"), "service-desc", OPENAPI_JSON, "the API definition"),
        link(absolute(request, "/docs"), "service-doc", HTML, "the API documentation"),
        link(absolute(request, "/conformance"), "conformance", JSON, "conformance classes"),
        link(absolute(request, "/collections"), "data", JSON, "the feature collections"),
    ]
    return json_response(
        {
            "title": "blightmap",
            "description": "Blight in the district's farm towers: towers, observations, fields.",
            "links": links,
        }
    )


@router.get("/conformance", summary="Conformance declaration")
def conformance() -> dict[str, Any]:
    """The OGC conformance classes this service implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/api", summary="API definition (OpenAPI 3.0)")
def api_definition(request: Request) -> Response:
    """The OpenAPI document in version 3.0, as OGC API clients expect."""
    doc = to_openapi30(request.app.openapi())
    return json_response(doc, media_type=OPENAPI_JSON)
