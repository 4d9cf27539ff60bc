"""Forecast jobs: ``POST /forecasts`` (planners), ``GET``/``DELETE /forecasts/{id}``.

A POST answers 202 with the job resource and its ``Location``; the ensemble runs in a
worker process (:mod:`service.forecasts`) and the job resource shows its progress,
then its result. An identical request on the same data version answers 202 with the
existing job (same id) while that job is queued, running or done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from geo.treatments import Treatment
from service.auth import Permission
from service.body import parse_json, read_json_body
from service.deps import StateDep, require
from service.errors import FieldError, InvalidContent, ResourceNotFound
from service.fields import FieldSnapshot
from service.forecasts import ForecastInputs, ForecastJob, ForecastManager
from service.ogc import absolute
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.forecasts import ForecastIn, PlannedTreatmentIn
from service.schemas.treatments import AreaIn, TreatmentFeatureIn, TreatmentPropertiesIn
from service.state import AppState

__all__ = ["MANAGER_KEY", "install_forecasts", "router"]

MANAGER_KEY = "forecasts"
router = APIRouter(tags=["forecasts"])


def get_manager(request: Request) -> ForecastManager:
    """The :class:`ForecastManager` installed by :func:`install_forecasts`."""
    manager: ForecastManager = getattr(request.app.state, MANAGER_KEY)
    return manager


ManagerDep = Annotated[ForecastManager, Depends(get_manager)]


def install_forecasts(
    app: FastAPI, state: AppState, max_workers: int = 1, max_jobs: int = 100
) -> ForecastManager:
    """Include the forecast routes in ``app`` and stop the workers on its shutdown."""
    manager = ForecastManager(max_workers, max_jobs)
    setattr(app.state, MANAGER_KEY, manager)
    app.include_router(router)
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as value:
            try:
                yield value
            finally:
                await manager.aclose()

    app.router.lifespan_context = lifespan
    return manager


def _planned(
    item: PlannedTreatmentIn, index: int, field: FieldSnapshot, when: Any
) -> tuple[int, Treatment]:
    where = f"scenario.treatments.{index}"
    zone = None
    if item.zone_id is not None:
        zone = next((z for z in field.zones if z.id == item.zone_id), None)
        if zone is None:
            reason = "no current remedy zone has this id"
            raise InvalidContent(
                f"{where}.zone_id: {reason}", [FieldError(f"{where}.zone_id", reason)]
            )
    if zone is None and item.geometry is None:
        reason = "give a Polygon, or null with the zone_id of a current remedy zone"
        raise InvalidContent(
            f"{where}.geometry: {reason}", [FieldError(f"{where}.geometry", reason)]
        )
    geometry = (
        AreaIn(type="Polygon", coordinates=item.geometry.coordinates)
        if item.geometry is not None
        else None
    )
    feature = TreatmentFeatureIn(
        type="Feature",
        id=f"planned-{index}",
        geometry=geometry,
        properties=TreatmentPropertiesIn(
            strain=item.strain, dose_l_per_m2=item.dose_l_per_m2, applied_at=when
        ),
    )
    return item.day, feature.to_treatment(zone.geometry_wgs84 if zone is not None else None)


def _inputs(state: AppState, parsed: ForecastIn, field: FieldSnapshot) -> ForecastInputs:
    for i, item in enumerate(parsed.scenario.treatments):
        if item.day > parsed.horizon_days:
            reason = "must not be after horizon_days"
            where = f"scenario.treatments.{i}.day"
            raise InvalidContent(f"{where}: {reason}", [FieldError(where, reason)])
    start = field.result.reference_time
    planned = tuple(
        _planned(item, i, field, start) for i, item in enumerate(parsed.scenario.treatments)
    )
    spec = field.result.grid.spec
    frame = field.frame
    return ForecastInputs(
        towers=tuple(state.towers.current().index.towers),
        tier_values=dict(field.tier_values),
        crs=f"EPSG:{frame.epsg}" if frame.epsg else frame.crs.to_wkt(),
        grid=(spec.west_m, spec.north_m, spec.resolution_m, spec.width, spec.height),
        applied=tuple(state.store.list_treatments()),
        planned=planned,
        start=start,
        horizon_days=parsed.horizon_days,
        runs=parsed.runs,
        seed=parsed.seed,
        threshold=parsed.threshold,
    )


def _job_response(request: Request, job: ForecastJob, status: int = 200) -> Response:
    location = absolute(request, f"/forecasts/{job.id}")
    return json_response(job.to_dict(), status, headers={"Location": location})


def _job(manager: ForecastManager, job_id: str) -> ForecastJob:
    job = manager.get(job_id)
    if job is None:
        raise ResourceNotFound("no forecast job has this id (jobs are kept for a while only)")
    return job


@router.post(
    "/forecasts",
    status_code=202,
    summary="Start a spread forecast (an ensemble job)",
    dependencies=[Depends(require(Permission.PLAN))],
    openapi_extra=json_body(ForecastIn),
)
async def post_forecast(request: Request, state: StateDep, manager: ManagerDep) -> Response:
    """Queue an ensemble forecast of the current field, optionally with planned treatments.

    Answers 202 with the job resource and its ``Location``. The same request on the
    same data version gives the same job (202, same id) unless it failed or was
    cancelled. 409 when there is no field yet.
    """
    body = await read_json_body(request)
    parsed = parse_json(ForecastIn, body)
    field = await state.fields.current()
    inputs = await run_in_threadpool(_inputs, state, parsed, field)
    job, _ = await manager.submit(parsed.model_dump(mode="json"), field.data_version, inputs)
    return _job_response(request, job, 202)


@router.get(
    "/forecasts/{job_id}",
    summary="A forecast job: status, progress, result",
    dependencies=[Depends(require(Permission.READ))],
)
async def get_forecast(request: Request, job_id: str, manager: ManagerDep) -> Response:
    """The job resource; ``result`` once done, ``error`` if it failed."""
    return _job_response(request, _job(manager, job_id))


@router.delete(
    "/forecasts/{job_id}",
    summary="Cancel a forecast job",
    dependencies=[Depends(require(Permission.PLAN))],
)
async def delete_forecast(request: Request, job_id: str, manager: ManagerDep) -> Response:
    """Cancel a queued or running job (its status becomes ``cancelled``); a finished
    job is returned unchanged."""
    _job(manager, job_id)
    job = manager.cancel(job_id)
    assert job is not None
    return _job_response(request, job)
