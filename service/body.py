"""Request bodies: a size limit that holds for chunked uploads too, and JSON parsing.

:class:`BodyLimitMiddleware` refuses a declared ``Content-Length`` over the limit at
once and counts the bytes of bodies without one, so a chunked upload cannot exceed
the limit either. Parsing into pydantic models happens in ``parse_json``: pydantic's
JSON parser names the field of a NaN or Infinity, and reports syntax errors with a
line and column, never the input itself.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import (
    BadRequest,
    FieldError,
    InvalidContent,
    PayloadTooLarge,
    UnsupportedMediaType,
    field_errors_from_pydantic,
)
from service.schemas.limits import TooManyValues, check_value_counts

__all__ = ["BodyLimitMiddleware", "parse_json", "read_json_body"]

M = TypeVar("M", bound=BaseModel)
_JSON_TYPES = ("application/json", "application/geo+json")


class BodyLimitMiddleware:
    """Pure ASGI middleware enforcing ``max_bytes`` on every HTTP request body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                # Let the app answer (so the problem document is rendered once, in one
                # place) but never hand it the body.
                receive = _refuse(self.max_bytes)
                break
        else:
            receive = _counting(receive, self.max_bytes)
        await self.app(scope, receive, send)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body exceeds the limit of {max_bytes} bytes")


def _refuse(max_bytes: int) -> Receive:
    async def receive() -> Message:
        raise _too_large(max_bytes)

    return receive


def _counting(receive: Receive, max_bytes: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise _too_large(max_bytes)
        return message

    return wrapped


async def read_json_body(request: Request) -> bytes:
    """The raw body of a JSON request; 415 for another media type, 400 when empty."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type.lower() not in _JSON_TYPES:
        raise UnsupportedMediaType("send application/json or application/geo+json")
    body = await request.body()
    if not body.strip():
        raise BadRequest("the request body is empty", [])
    return body


def parse_json(model: type[M], body: bytes) -> M:
    """Validate ``body`` as ``model``; 400 for malformed JSON, 422 naming each bad field.

    A body with more values than any valid request is refused (413) before pydantic's
    costly parse (:func:`~service.schemas.limits.check_value_counts`).
    """
    try:
        check_value_counts(body)
    except TooManyValues as exc:
        raise PayloadTooLarge(f"the request body {exc}", [FieldError("body", str(exc))]) from None
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise BadRequest(f"malformed JSON: {errors[0]['msg']}") from None
        field_errors = field_errors_from_pydantic(errors)
        summary = "; ".join(f"{e.field}: {e.reason}" for e in field_errors[:5])
        more = f" (and {len(field_errors) - 5} more)" if len(field_errors) > 5 else ""
        raise InvalidContent(summary + more, field_errors) from None
