"""The methods a path answers, for the ``Allow`` header of a 405 (RFC 9110 section 15.5.6).

Starlette's 405 names the methods of the first route whose path matched; a path served
by several routes (``GET`` and ``PUT`` and ``DELETE`` of one tower) answers all of them.
"""

from __future__ import annotations

from fastapi import routing
from starlette.requests import Request
from starlette.routing import Match, Route

__all__ = ["allowed_methods"]


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this request's path, sorted."""
    routes = request.app.routes
    contexts = getattr(routing, "iter_route_contexts", None)  # FastAPI >= 0.16x
    candidates = [c.original_route for c in contexts(routes)] if contexts else list(routes)
    scope = {**request.scope, "method": "GET"}
    methods: set[str] = set()
    for route in candidates:
        if isinstance(route, Route) and route.methods:
            probe = {**scope, "method": next(iter(route.methods))}
            if route.matches(probe)[0] is Match.FULL:
                methods |= route.methods
    return sorted(methods)
