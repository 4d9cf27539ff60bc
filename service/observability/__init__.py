"""Operations: request ids, JSON logs, security headers, Prometheus metrics, health.

:func:`install` adds all of it to an app in one call from ``create_app``; each concern
lives in its own module (:mod:`.request_id`, :mod:`.logs`, :mod:`.headers`,
:mod:`.metrics`, :mod:`.middleware`).
"""

from __future__ import annotations

from fastapi import FastAPI

from service.observability.metrics import Metrics, metrics_of
from service.observability.middleware import ObservabilityMiddleware

__all__ = ["Metrics", "install", "metrics_of"]


def install(app: FastAPI, metrics: Metrics) -> None:
    """Add the outermost middleware (request id, headers, access log, metrics, 500s)."""
    app.state.metrics = metrics
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
