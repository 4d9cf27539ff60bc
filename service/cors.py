"""CORS for the public, immutable files AR clients and web viewers fetch from elsewhere.

glTF assets (``/assets/<hash>.glb``) and the protocol schema (``/schemas/...``) are
public and content-addressed or static, so a viewer served from another origin (a
WebXR page, a CesiumJS or three.js app, a Unity WebGL build) may load them. Only
those paths get CORS headers: the rest of the API keeps the browser's same-origin
rule. Starlette's :class:`~starlette.middleware.cors.CORSMiddleware` does the work
(preflights, ``Vary: Origin`` for listed origins); this wrapper scopes it by path.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CORS_PATHS", "PathCorsMiddleware"]

CORS_PATHS = ("/assets", "/schemas")
"""Path prefixes that answer cross-origin requests."""


class PathCorsMiddleware:
    """CORS (GET and HEAD, no credentials) on paths under ``prefixes`` only.

    Parameters
    ----------
    app
        The wrapped ASGI application.
    origins
        Allowed origins (``"*"``: any); empty turns CORS off.
    prefixes
        Path prefixes concerned (``/assets`` covers ``/assets/...``).
    """

    def __init__(
        self, app: ASGIApp, origins: Sequence[str], prefixes: Sequence[str] = CORS_PATHS
    ) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.cors: ASGIApp | None = None
        if origins:
            self.cors = CORSMiddleware(
                app,
                allow_origins=list(origins),
                allow_methods=["GET", "HEAD"],
                allow_headers=["Range", "If-None-Match", "If-Range"],
                expose_headers=["ETag", "Content-Length", "Content-Range", "Accept-Ranges"],
                max_age=86_400,
            )

    def _concerned(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route HTTP requests under the prefixes through CORS, everything else past it."""
        if self.cors is not None and scope["type"] == "http" and self._concerned(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
