"""``create_app(settings)``: the one place the service is assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from ar_assets.assets import AssetStore
from ar_assets.overlays import overlay_message
from service import health, observability, openapi_docs, openapi_problems, vendor
from service.body import BodyLimitMiddleware
from service.cors import PathCorsMiddleware
from service.errors import add_exception_handlers
from service.fields import FieldEngine
from service.files import install_spool
from service.guard.rate import STATE_KEY as RATES_KEY
from service.guard.rate import KeyRateLimits
from service.overlays import OverlayPublisher
from service.routers import (
    assets,
    docs,
    features,
    fields,
    keys,
    landing,
    legend,
    observations,
    preview,
    protocol_schemas,
    tiles,
    towers,
    treatments,
    webmap,
)
from service.routers.exports import install_exports
from service.routers.forecasts import install_forecasts
from service.settings import Settings
from service.state import AppState, TowerLayerCache
from service.store import Store
from service.store.gpkg import GeoPackageStore
from service.stream.access import active_key_ids, identify
from service.stream.config import StreamConfig, build_hub
from service.stream.router import STATE_KEY
from service.stream.router import router as stream_router
from service.stream.runtime import StreamRuntime

__all__ = ["build_state", "create_app", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store the settings name: PostGIS when ``database_url`` is set, else the
    embedded GeoPackage in the data directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.database_url:
        from service.store.postgis import PostGISStore

        return PostGISStore(
            settings.database_url,
            settings.database_schema,
            pool_size=settings.database_pool_size,
        )
    return GeoPackageStore(settings.store_path)


def build_state(settings: Settings, store: Store) -> AppState:
    """The service's state around ``store`` (also used by the command line)."""
    towers = TowerLayerCache(store, settings.district_margin_m)
    fields = FieldEngine(store, towers, settings)
    return AppState(settings, store, towers, fields, AssetStore(settings.asset_cache_bytes))


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """Build the FastAPI application for ``settings``.

    The store is opened here (or given, for tests) and closed on shutdown.
    """
    store = store if store is not None else open_store(settings)
    state = build_state(settings, store)
    stream = StreamRuntime(
        build_hub(settings, overlay_message),
        StreamConfig.from_settings(settings),
        partial(identify, store),
        partial(active_key_ids, store),
    )
    state.fields.subscribe(OverlayPublisher(stream.hub, state.assets))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stream.start()
        state.fields.notify()  # AR clients get overlays without waiting for new data
        yield
        await stream.aclose()
        await state.fields.aclose()
        store.close()

    app = FastAPI(
        title="blightmap",
        version="0.1.0",
        description="Blight in community vertical farms: towers, observations, fields, overlays.",
        lifespan=lifespan,
        docs_url=None,  # service.routers.docs: vendored, offline
        redoc_url=None,
    )
    app.state.blightmap = state
    setattr(app.state, STATE_KEY, stream)
    rates = {"write": settings.rate_limit_writes, "job": settings.rate_limit_jobs}
    setattr(app.state, RATES_KEY, KeyRateLimits(rates))
    add_exception_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(PathCorsMiddleware, origins=settings.cors_origins)
    app.include_router(landing.router)
    app.include_router(health.router)
    app.include_router(observability.metrics.router)
    app.include_router(features.build_router())
    app.include_router(towers.router)
    app.include_router(observations.router)
    app.include_router(fields.router)
    app.include_router(tiles.router)
    app.include_router(legend.router)
    app.include_router(treatments.router)
    app.include_router(keys.router)
    app.include_router(assets.router)
    app.include_router(protocol_schemas.router)
    app.include_router(stream_router)
    install_spool(app, settings.data_dir)
    install_forecasts(app, state)
    install_exports(app, state)
    vendor.install(app, settings.vendor_dir)
    preview.install(app)
    webmap.install(app, settings.data_dir)
    docs.install(app)
    openapi_docs.install(app)
    openapi_problems.install(app)  # after every other change to app.openapi
    metrics = observability.Metrics()
    metrics.watch(app)
    state.fields.on_computed(metrics.field_seconds.observe)
    observability.install(app, metrics)  # last: the outermost middleware
    return app
