"""Every operation's problem answers in the OpenAPI document, derived in one place.

No route lists its error answers by hand. When the document is generated,
:func:`document_problems` adds to each operation the problem+json answers it can give,
from what the operation is (its declared parameters, body and security) and from the
one error table (:data:`service.errors.STATUS_BY_ERROR` and the :class:`ApiError`
classes):

* every operation: 400 (malformed or unknown query parameters are refused everywhere),
  431 (a request head over ``http_max_header_bytes``) and 503;
* operations needing a key (``security``): 401 and 403; those needing more than
  ``read`` are writes, counted against the key's rate limits: 429;
* operations with path parameters: 404;
* operations with a request body: 413, 415 and 422;
* operations reading the service's state (the store, the field; found in the route's
  dependency tree, or because the route declares any parameter or body, or takes the
  ``Request``): every status of the domain error table (404 unknown ids, 409 not enough
  data or an existing id, 422 content the district refuses, 503 store unavailable).

FastAPI's own 422 answer (``HTTPValidationError``) is replaced: this service answers
validation errors with RFC 9457 problem documents, 400 for parameters and 422 for
bodies. An answer a route documents itself keeps its description and gains the problem
media type.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from service.auth import Permission
from service.deps import get_state
from service.errors import PROBLEM_MEDIA_TYPE, STATUS_BY_ERROR, ApiError

__all__ = ["PROBLEM_SCHEMA", "document_problems", "install"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}
_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _titles() -> dict[int, list[str]]:
    """Status -> the titles of the errors giving it, from the error table and classes."""
    titles: dict[int, list[str]] = {}

    def add(status: int, title: str) -> None:
        if title not in titles.setdefault(status, []):
            titles[status].append(title)

    for status, title, _ in STATUS_BY_ERROR.values():
        add(status, title)
    pending: list[type[ApiError]] = [ApiError]
    while pending:
        cls = pending.pop()
        add(cls.status, cls.title)
        pending.extend(cls.__subclasses__())
    add(400, "Bad request")  # parameter validation (service.errors._validation_error)
    add(422, "Invalid content")  # body validation
    return titles


def _api_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """``(method, path) -> route`` of every API route, in included routers too."""
    found: dict[tuple[str, str], APIRoute] = {}
    contexts = getattr(routing, "iter_route_contexts", None)  # FastAPI >= 0.16x
    candidates = (
        [(c.original_route, c) for c in contexts(app.routes)]
        if contexts is not None
        else [(r, r) for r in app.routes]
    )
    for route, context in candidates:
        if isinstance(route, APIRoute):
            path = getattr(context, "path_format", route.path_format)
            for method in route.methods or ():
                found[(method.lower(), path)] = route
    return found


def _uses(dependant: Dependant, call: Callable[..., Any]) -> bool:
    if dependant.call is call:
        return True
    return any(_uses(sub, call) for sub in dependant.dependencies)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependencies(sub)


def _permissions(route: APIRoute) -> set[Permission]:
    """The permissions the route's ``require(...)`` dependencies ask for."""
    found = set()
    for dep in _dependencies(route.dependant):
        if dep.call is None or not inspect.isfunction(dep.call):
            continue
        permission = inspect.getclosurevars(dep.call).nonlocals.get("permission")
        if isinstance(permission, Permission):
            found.add(permission)
    return found


def _statuses(route: APIRoute | None, operation: dict[str, Any]) -> set[int]:
    params = operation.get("parameters", [])
    # any request may be malformed or have a head over the server's limit (431, from
    # service/guard: a long query string); any service may be unavailable
    statuses = {400, 431, 503}
    if operation.get("security"):
        statuses |= {401, 403}
    if route is not None and _permissions(route) - {Permission.READ}:
        statuses.add(429)  # service.deps.require: rate_limit_writes (and rate_limit_jobs)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 415, 422}
    reads_state = route is not None and (
        _uses(route.dependant, get_state) or route.dependant.request_param_name is not None
    )
    if reads_state or params or "requestBody" in operation:
        statuses |= {status for status, _, _ in STATUS_BY_ERROR.values()}
    return statuses


def _anonymous_reads(route: APIRoute | None, operation: dict[str, Any]) -> None:
    """A read that needs no key (``open_reads``) says so: its security may be empty."""
    security = operation.get("security")
    if route is None or not security or {} in security:
        return
    if _permissions(route) <= {Permission.READ}:
        security.append({})


def document_problems(
    app: FastAPI, doc: dict[str, Any], open_reads: bool = True
) -> dict[str, Any]:
    """Add the problem answers to every operation of ``doc`` (the app's OpenAPI
    document, changed in place and returned); with ``open_reads``, reads also declare
    that they work without a key."""
    titles = _titles()
    routes = _api_routes(app)
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    schemas = doc["components"]["schemas"]
    for path, item in doc.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            generated = responses.get("422", {})
            if "HTTPValidationError" in str(generated.get("content", {})):
                del responses["422"]
            route = routes.get((method, path))
            if open_reads:
                _anonymous_reads(route, operation)
            for status in sorted(_statuses(route, operation)):
                answer = responses.setdefault(
                    str(status), {"description": "; ".join(titles.get(status, ["Problem"]))}
                )
                answer.setdefault("content", {})[PROBLEM_MEDIA_TYPE] = {"schema": _REF}
    if not any("HTTPValidationError" in str(v) for v in doc.get("paths", {}).values()):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return doc


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the problem answers (call after every other
    change to ``app.openapi``)."""
    inner = app.openapi
    done: set[int] = set()

    def openapi() -> dict[str, Any]:
        doc = inner()
        if id(doc) not in done:
            document_problems(app, doc, app.state.blightmap.settings.open_reads)
            done.add(id(doc))
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
