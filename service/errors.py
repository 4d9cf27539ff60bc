"""HTTP errors as RFC 9457 problem details, and the one table mapping errors to statuses.

Domain errors (:mod:`geo.errors`) and storage errors (:mod:`service.store`) know nothing
of HTTP; :data:`STATUS_BY_ERROR` decides their status here, once. Every problem names
the offending ``field`` and the ``reason`` in an ``errors`` list; raw input is never
echoed back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from geo import errors as geo_errors
from geo.tiles.errors import NoSuchTile
from service.request_id import current_request_id
from service.responses import json_response
from service.store import AlreadyExists, NotFound, StoreError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "STATUS_BY_ERROR",
    "ApiError",
    "FieldError",
    "NotModified",
    "add_exception_handlers",
    "field_errors_from_pydantic",
    "internal_error_response",
    "problem_response",
]

log = logging.getLogger("blightmap.errors")
PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://blightmap.org/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a request was refused, about one field (a dotted path)."""

    field: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"field": self.field, "reason": self.reason}


class ApiError(Exception):
    """An error raised by the HTTP layer itself, carrying its status."""

    status = 400
    title = "Bad request"
    slug = "bad-request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class BadRequest(ApiError):
    """Malformed request: syntax, unknown or invalid query parameters."""


class InvalidContent(ApiError):
    """Well-formed request whose content breaks the rules."""

    status, title, slug = 422, "Invalid content", "invalid-content"


class PayloadTooLarge(ApiError):
    """The body exceeds the configured limit."""

    status, title, slug = 413, "Payload too large", "payload-too-large"


class Unauthorized(ApiError):
    """No key, or a key the service does not know."""

    status, title, slug = 401, "Unauthorized", "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="blightmap"'}


class Forbidden(ApiError):
    """A known key whose role lacks the needed permission."""

    status, title, slug = 403, "Forbidden", "forbidden"


class Conflict(ApiError):
    """The request contradicts what is stored (an id taken with other content)."""

    status, title, slug = 409, "Conflict", "conflict"


class ResourceNotFound(ApiError):
    """No such resource."""

    status, title, slug = 404, "Not found", "not-found"


class TooManyRequests(ApiError):
    """A per-key rate limit or quota is exhausted: try again after ``retry_after_s``."""

    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after_s))}


class ServiceBusy(ApiError):
    """The service holds as much work as it may (a full job table): try again later."""

    status, title, slug = 503, "Service busy", "service-busy"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after_s))}


class UnsupportedMediaType(ApiError):
    """The body is not of a media type the endpoint accepts."""

    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class NotModified(Exception):
    """The client's cached copy (``If-None-Match``) is current: 304 without a body."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


# The one table: domain and storage errors -> (status, title, slug).
STATUS_BY_ERROR: dict[type[Exception], tuple[int, str, str]] = {
    NoSuchTile: (404, "Not found", "not-found"),
    geo_errors.OutsideDistrict: (422, "Outside the district", "outside-district"),
    geo_errors.InvalidGeometry: (422, "Invalid geometry", "invalid-geometry"),
    geo_errors.InvalidTower: (422, "Invalid tower", "invalid-tower"),
    geo_errors.InvalidCRS: (400, "Unsupported CRS", "invalid-crs"),
    geo_errors.UnreadableFile: (422, "Unreadable file", "unreadable-file"),
    geo_errors.TooFewObservations: (409, "Not enough data", "too-few-observations"),
    geo_errors.UnknownMethod: (400, "Unknown method", "unknown-method"),
    geo_errors.GeoError: (422, "Invalid content", "invalid-content"),
    NotFound: (404, "Not found", "not-found"),
    AlreadyExists: (409, "Already exists", "conflict"),
    StoreError: (503, "Store unavailable", "store-unavailable"),
}


def problem_response(
    status: int,
    title: str,
    slug: str,
    detail: str,
    errors: Iterable[FieldError] = (),
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response:
    """Render an RFC 9457 problem document (with the request's ``request_id``)."""
    body: dict[str, Any] = {
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    errs = [e.to_dict() for e in errors]
    if errs:
        body["errors"] = errs
    return json_response(body, status, PROBLEM_MEDIA_TYPE, headers)


def field_errors_from_pydantic(
    errors: Sequence[Any], drop_prefix: tuple[str, ...] = ()
) -> list[FieldError]:
    """Turn pydantic's error list into :class:`FieldError` items, without the raw input."""
    out: list[FieldError] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and tuple(loc[: len(drop_prefix)]) == drop_prefix:
            loc = loc[len(drop_prefix) :]
        field = ".".join(loc) or "body"
        reason = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            reason = "unknown property; it is not part of the schema"
        out.append(FieldError(field, reason))
    return out


def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem_response(
        exc.status, exc.title, exc.slug, exc.detail, exc.errors, exc.headers, request.url.path
    )


def _domain_error(request: Request, exc: Exception) -> Response:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            status, title, slug = STATUS_BY_ERROR[cls]
            break
    else:  # pragma: no cover - only registered classes reach this handler
        status, title, slug = 500, "Internal error", "internal"
    if status >= 500:
        log.error("store error on %s: %s", request.url.path, exc)
        detail = "the store could not complete the request; try again"
        return problem_response(status, title, slug, detail, (), None, request.url.path)
    field = getattr(exc, "field", None)
    reason = getattr(exc, "reason", str(exc))
    errs = [FieldError(field, reason)] if field else []
    return problem_response(status, title, slug, reason, errs, None, request.url.path)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    errs = field_errors_from_pydantic(exc.errors())
    in_query = any(str(e.get("loc", ("",))[0]) in ("query", "path") for e in exc.errors())
    status, title, slug = (
        (400, "Bad request", "bad-request")
        if in_query
        else (422, "Invalid content", "invalid-content")
    )
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errs[:5])
    return problem_response(status, title, slug, detail, errs, None, request.url.path)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = str(exc.detail) if exc.detail else title
    return problem_response(
        exc.status_code,
        title,
        title.lower().replace(" ", "-"),
        detail,
        (),
        dict(exc.headers or {}),
        request.url.path,
    )


def _not_modified(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers={"ETag": exc.etag})


def internal_error_response(path: str) -> Response:
    """The 500 problem document of an unexpected error (logged by the caller, once:
    :class:`service.observability.middleware.ObservabilityMiddleware`)."""
    return problem_response(
        500,
        "Internal error",
        "internal",
        "an unexpected error occurred; it has been logged with the request id",
        (),
        None,
        path,
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Register every handler on ``app`` (once, in ``create_app``)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(NotModified, _not_modified)
    for cls in STATUS_BY_ERROR:
        app.add_exception_handler(cls, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Unexpected exceptions are logged once and answered by the outermost middleware
    # (service.observability); a handler here would make Starlette re-raise and log again.
