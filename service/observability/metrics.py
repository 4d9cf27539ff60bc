"""Prometheus metrics (``prometheus-client``), one registry per app.

Counters and histograms are updated where things happen (the middleware for requests
and WebSocket sessions, the observation router for ingestion, the field engine for
recomputation); gauges that describe state (job queues, hub sessions) are read at
scrape time by :class:`_StateCollector`, so no other module has to keep them current.
``GET /metrics`` renders the registry in the Prometheus text format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from service.auth import Permission
from service.deps import require

__all__ = ["JOB_MANAGER_KEYS", "Metrics", "metrics_of", "router"]

JOB_MANAGER_KEYS = ("exports", "forecasts")
"""``app.state`` attributes holding the job managers whose queues are reported."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_FIELD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The service's metrics in their own :class:`CollectorRegistry` (one per app, so
    several apps in one process, as in the tests, never share counts)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "blightmap_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ("method", "route", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "blightmap_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by route template.",
            ("method", "route"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ingested = Counter(
            "blightmap_observations_ingested",
            "Observations received on POST /observations: new ones stored, known ones kept.",
            ("outcome",),
            registry=r,
        )
        self.ws_open = Gauge(
            "blightmap_websocket_connections", "WebSocket connections open now.", registry=r
        )
        self.ws_closed = Counter(
            "blightmap_websocket_closed",
            "WebSocket connections the server closed, by close code (4008: too slow, "
            "1008: policy, 1009: too big, 1013: full); dropped clients are the codes "
            "other than 1000 and 1001.",
            ("code",),
            registry=r,
        )
        self.field_seconds = Histogram(
            "blightmap_field_recompute_seconds",
            "Time to interpolate the field and derive the zones of one data version.",
            buckets=_FIELD_BUCKETS,
            registry=r,
        )
        self._state = _StateCollector()
        r.register(self._state)

    def watch(self, app: FastAPI) -> None:
        """Report the job queues and hub sessions of ``app`` at scrape time."""
        self._state.app = app

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observations(self, new: int, known: int) -> None:
        """Count one ingested batch."""
        self.ingested.labels("new").inc(new)
        self.ingested.labels("known").inc(known)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges read from the app's state when scraped."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "blightmap_jobs",
            "Jobs in the job tables by kind and status (queued + running = queue depth).",
            labels=("kind", "status"),
        )
        sessions = GaugeMetricFamily(
            "blightmap_stream_sessions",
            "AR stream sessions held by the hub: connected, subscribed, detached.",
            labels=("state",),
        )
        app = self.app
        if app is not None:
            for kind in JOB_MANAGER_KEYS:
                for status, count in _job_counts(getattr(app.state, kind, None)).items():
                    jobs.add_metric((kind, status), count)
            stats = _hub_stats(app)
            if stats is not None:
                for name in ("sessions", "subscribed", "detached"):
                    sessions.add_metric((name,), getattr(stats, name))
        yield jobs
        yield sessions


def _job_counts(manager: Any) -> dict[str, int]:
    counts = {"queued": 0, "running": 0}
    table = getattr(manager, "_jobs", None)  # a JobTable (iterable of jobs) or a dict
    if table is None:
        return counts
    for job in list(table.values() if isinstance(table, dict) else table):
        status = str(getattr(job, "status", "unknown"))
        counts[status] = counts.get(status, 0) + 1
    return counts


def _hub_stats(app: FastAPI) -> Any:
    from service.stream.router import STATE_KEY

    runtime = getattr(app.state, STATE_KEY, None)
    hub = getattr(runtime, "hub", None)
    return hub.stats() if hub is not None else None


def metrics_of(app: Any) -> Metrics:
    """The :class:`Metrics` installed on ``app``."""
    metrics: Metrics = app.state.metrics
    return metrics


router = APIRouter(tags=["service"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
    dependencies=[Depends(require(Permission.READ))],
)
async def get_metrics(request: Request) -> Response:
    """Requests, latencies, ingestion, WebSocket sessions, job queues and field
    recomputation, in the Prometheus text format (a read: open when reads are open).

    Runs on the event loop, where the hub's state may be read safely."""
    return Response(metrics_of(request.app).render(), media_type=CONTENT_TYPE_LATEST)
