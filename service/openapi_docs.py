"""Request bodies parsed by hand (for strict, field-naming errors) still get documented.

Endpoints that read their body themselves declare it with :func:`json_body`; the
models' JSON schemas are merged into ``components/schemas`` by :func:`install`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

__all__ = ["install", "json_body"]

_REF = "#/components/schemas/{model}"
_BODY_MODELS: set[type[BaseModel]] = set()


def json_body(model: type[BaseModel], *media_types: str) -> dict[str, Any]:
    """``openapi_extra`` describing a required JSON body of ``model``."""
    _BODY_MODELS.add(model)
    ref = {"$ref": _REF.format(model=model.__name__)}
    types = media_types or ("application/json",)
    return {"requestBody": {"required": True, "content": {t: {"schema": ref} for t in types}}}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` include the schemas of every :func:`json_body` model."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        models = sorted(_BODY_MODELS, key=lambda m: m.__name__)
        _, defs = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
        doc.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
