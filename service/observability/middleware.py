"""The outermost middleware: request id, security headers, access log, metrics, 500s.

For every HTTP request it takes the ``X-Request-ID`` (or makes one), keeps it in the
context for log records and problem documents, and echoes it in the answer with the
security headers (:mod:`.headers`). When the request is answered it writes one JSON
access-log line and updates the request metrics, labelled by route template (never
the raw path, so the label set stays bounded). An exception no handler took is logged
here, exactly once, with its traceback, and answered with a 500 problem document; it is
not re-raised, so neither Starlette nor uvicorn logs it a second time.

For WebSockets it counts open connections and the close codes the server sends.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import internal_error_response
from service.observability.headers import security_headers
from service.observability.metrics import Metrics
from service.request_id import HEADER, request_id_var, valid_or_new

__all__ = ["ObservabilityMiddleware"]

log = logging.getLogger("blightmap.requests")
errors_log = logging.getLogger("blightmap.errors")
_UNMATCHED = "<unmatched>"
_HEADER_RAW = HEADER.lower().encode()


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


class ObservabilityMiddleware:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_id = next((v for k, v in scope.get("headers", ()) if k == _HEADER_RAW), None)
        request_id = valid_or_new(raw_id)
        token = request_id_var.set(request_id)
        added = [*security_headers(scope["path"]), (_HEADER_RAW, request_id.encode())]
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["started"] = message["status"], True
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in added if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            errors_log.exception(
                "unhandled error on %s %s",
                scope["method"],
                scope["path"],
                extra={"method": scope["method"], "path": scope["path"]},
            )
            answer["status"] = 500
            if not answer["started"]:
                response = internal_error_response(scope["path"])
                await response(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.request_done(scope["method"], route, answer["status"], seconds)
            log.info(
                "%s %s %s",
                scope["method"],
                route,
                answer["status"],
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": answer["status"],
                    "duration_ms": round(seconds * 1000, 2),
                    "client": _client(scope),
                },
            )
            request_id_var.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened = False

        async def counting_send(message: Message) -> None:
            nonlocal opened
            if message["type"] == "websocket.accept" and not opened:
                opened = True
                self.metrics.ws_open.inc()
            elif message["type"] == "websocket.close":
                self.metrics.ws_closed.labels(str(message.get("code", 1000))).inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if opened:
                self.metrics.ws_open.dec()
