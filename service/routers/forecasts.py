"""Forecast jobs: ``POST /forecasts`` and ``POST /forecasts/compare`` (planners),
``GET``/``DELETE /forecasts/{id}``, ``GET /forecasts/{id}/probability.tif``.

A POST answers 202 with the job resource and its ``Location``; calibration, hindcast
and ensembles run in a worker process (:mod:`service.forecasts`) and the job resource
shows its progress, then its result. An identical request on the same data version
answers 202 with the existing job (same id) while that job is queued, running or done.
A comparison is a job too (two ensembles cost twice one forecast); its resource lives
at the same ``/forecasts/{id}`` with ``kind: "compare"``. A job is seen only by the key
that submitted it and by admins (404 to anyone else); ``DELETE`` dismisses it (OGC API -
Processes: cancelled if unfinished, then gone). Submissions count against the key's
``rate_limit_jobs`` and ``jobs_max_active_per_key`` (429 with ``Retry-After``).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from service.auth import Permission
from service.body import parse_json, read_json_body
from service.deps import Caller, StateDep, require
from service.errors import ApiError, FieldError, InvalidContent, NotModified, ResourceNotFound
from service.fields import FieldSnapshot
from service.files import SpoolDep, etag_matches, file_response, get_and_head
from service.forecast_geotiff import probability_cog
from service.forecast_inputs import build_inputs, planned_treatments
from service.forecasts import ForecastInputs, ForecastJob, ForecastManager
from service.guard.rate import limit_rate
from service.lifespan import close_on_shutdown
from service.ogc import absolute
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.forecasts import CompareIn, ForecastIn
from service.state import AppState
from service.store import KeyRecord

__all__ = ["MANAGER_KEY", "install_forecasts", "router"]

MANAGER_KEY = "forecasts"
router = APIRouter(tags=["forecasts"])


class JobNotDone(ApiError):
    """The job has no result yet (or never will: failed, cancelled)."""

    status, title, slug = 409, "Job not done", "job-not-done"


def get_manager(request: Request) -> ForecastManager:
    """The :class:`ForecastManager` installed by :func:`install_forecasts`."""
    manager: ForecastManager = getattr(request.app.state, MANAGER_KEY)
    return manager


ManagerDep = Annotated[ForecastManager, Depends(get_manager)]
PlannerDep = Annotated[KeyRecord | None, Depends(require(Permission.PLAN))]
ReaderDep = Annotated[KeyRecord | None, Depends(require(Permission.READ))]


def install_forecasts(app: FastAPI, state: AppState, max_workers: int = 1) -> ForecastManager:
    """Include the forecast routes in ``app`` and stop the workers on its shutdown."""
    settings = state.settings
    manager = ForecastManager(
        max_workers, settings.forecast_max_jobs, settings.data_dir, settings.jobs_max_active_per_key
    )
    setattr(app.state, MANAGER_KEY, manager)
    app.include_router(router)
    close_on_shutdown(app, manager.aclose)
    return manager


def _job_response(request: Request, job: ForecastJob, status: int = 200) -> Response:
    location = absolute(request, f"/forecasts/{job.id}")
    return json_response(job.to_dict(), status, headers={"Location": location})


def _job(manager: ForecastManager, job_id: str, record: KeyRecord | None) -> ForecastJob:
    job = manager.visible(job_id, Caller.of(record))
    if job is None:  # someone else's job does not exist for this caller
        raise ResourceNotFound(
            "this key has no forecast job with this id (jobs are kept for a while only)"
        )
    return job


@router.post(
    "/forecasts",
    status_code=202,
    summary="Start a spread forecast (an ensemble job)",
    openapi_extra=json_body(ForecastIn),
)
async def post_forecast(
    request: Request, state: StateDep, manager: ManagerDep, caller: PlannerDep
) -> Response:
    """Queue an ensemble forecast of the current field, optionally with planned treatments.

    Answers 202 with the job resource and its ``Location``. The same request on the
    same data version gives the same job (202, same id) unless it failed or was
    cancelled. 409 when there is no field yet.
    """
    body = await read_json_body(request)
    parsed = parse_json(ForecastIn, body)
    field = await state.fields.current()
    inputs = await run_in_threadpool(_forecast_inputs, state, parsed, field)
    limit_rate(request.app.state, "job", Caller.of(caller).key_id)
    request_json = parsed.model_dump(mode="json")
    job, _ = await manager.submit(
        request_json, field.data_version, inputs, "forecast", Caller.of(caller).key_id
    )
    return _job_response(request, job, 202)


def _forecast_inputs(state: AppState, parsed: ForecastIn, field: FieldSnapshot) -> ForecastInputs:
    planned = planned_treatments(parsed.scenario, "scenario", parsed.horizon_days, field)
    return build_inputs(state, field, parsed, planned)


def _compare_inputs(state: AppState, parsed: CompareIn, field: FieldSnapshot) -> ForecastInputs:
    if parsed.baseline == parsed.alternative:
        reason = "must differ from baseline"
        raise InvalidContent(f"alternative: {reason}", [FieldError("alternative", reason)])
    days = parsed.horizon_days
    base = planned_treatments(parsed.baseline, "baseline", days, field)
    alternative = planned_treatments(parsed.alternative, "alternative", days, field)
    return build_inputs(state, field, parsed, base, alternative)


@router.post(
    "/forecasts/compare",
    status_code=202,
    summary="Compare two scenarios (a job): blighted towers of each, towers saved and where",
    openapi_extra=json_body(CompareIn),
)
async def post_compare(
    request: Request, state: StateDep, manager: ManagerDep, caller: PlannerDep
) -> Response:
    """Queue two ensembles of the current field, ``baseline`` and ``alternative``, with
    the same seed (common random numbers). The finished job's result has, per day, the
    expected blighted towers of each with their 5-95 % band and the towers saved, and
    ``saved``: the towers whose probability drops, where they are, by how much."""
    body = await read_json_body(request)
    parsed = parse_json(CompareIn, body)
    field = await state.fields.current()
    inputs = await run_in_threadpool(_compare_inputs, state, parsed, field)
    limit_rate(request.app.state, "job", Caller.of(caller).key_id)
    request_json = parsed.model_dump(mode="json")
    job, _ = await manager.submit(
        request_json, field.data_version, inputs, "compare", Caller.of(caller).key_id
    )
    return _job_response(request, job, 202)


@router.get(
    "/forecasts/{job_id}",
    summary="A forecast job: status, progress, result",
)
async def get_forecast(
    request: Request, job_id: str, manager: ManagerDep, caller: ReaderDep
) -> Response:
    """The job resource; ``result`` once done, ``error`` if it failed. 404 unless the
    caller submitted the job or is an admin."""
    return _job_response(request, _job(manager, job_id, caller))


@router.delete(
    "/forecasts/{job_id}",
    summary="Dismiss a forecast job: cancel it if unfinished and remove it",
)
async def delete_forecast(
    request: Request, job_id: str, manager: ManagerDep, caller: PlannerDep
) -> Response:
    """Dismiss the job (OGC API - Processes): a queued or running job is cancelled; the
    job is removed and the answer is the job with status ``dismissed`` (afterwards:
    404). Only its submitter or an admin may; to others it is a 404."""
    _job(manager, job_id, caller)
    job = manager.dismiss(job_id)
    assert job is not None  # no await since the check: nobody else dismissed it
    return _job_response(request, job)


_TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"


@get_and_head(
    router,
    "/forecasts/{job_id}/probability.tif",
    summary="A finished forecast's daily probability grids as a Cloud-Optimized GeoTIFF",
    responses={200: {"content": {_TIFF: {}}}, 206: {"description": "Partial content (Range)"}},
)
async def get_probability_tif(
    request: Request, job_id: str, manager: ManagerDep, spool: SpoolDep, caller: ReaderDep
) -> Response:
    """One float32 band per forecast day (band k = day k, tagged ``day``), the
    probability of blight on the field's grid in the district's UTM zone. 409 while
    the job is not done; 404 for a comparison job (it has no grids) and to other keys."""
    job = _job(manager, job_id, caller)
    if job.kind != "forecast":
        raise ResourceNotFound("a comparison has no probability grids; run a forecast")
    if job.status != "done" or job.output is None:
        raise JobNotDone(f"the forecast is {job.status}; grids come when it is done")
    grids = job.output.grids()
    tags = {
        "forecast_id": job.id,
        "data_version": str(job.data_version),
        "start": str(job.output.result.get("start")),
        "threshold": str(job.output.result.get("threshold")),
    }
    etag = f'"forecast-{job.id}"'
    if etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)
    produce = partial(probability_cog, grids, range(1, len(grids) + 1), tags)
    path = await spool.path("forecasts", f"{job.id}.tif", produce)
    name = f"forecast-{job.id}-probability.tif"
    return file_response(request, path, media_type=_TIFF, etag=etag, filename=name)
