"""Export jobs: ``POST /exports`` (planners), ``GET``/``DELETE /exports/{id}`` and the files.

A POST checks the request against the current field (bbox in the district, tile
budget) and answers 202 with the job resource and its ``Location``; the files are
written in a worker thread (:mod:`service.exports`) and listed with their links once
the job is done. A job and its files are seen only by the key that submitted it and by
admins (404 to anyone else); ``DELETE`` dismisses it (OGC API - Processes): a queued or
running job is cancelled, and the job and its files are gone (404 afterwards).
Submissions count against the key's ``rate_limit_jobs`` and
``jobs_max_active_per_key`` (429 with ``Retry-After``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse

from geo.export import check_spec
from service.auth import Permission
from service.basemap import load_basemap
from service.body import parse_json, read_json_body
from service.deps import Caller, StateDep, require
from service.errors import ResourceNotFound
from service.exports import ExportJob, ExportManager, export_data
from service.files import file_response, get_and_head
from service.guard.rate import limit_rate
from service.lifespan import close_on_shutdown
from service.ogc import absolute
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.exports import ExportIn
from service.state import AppState
from service.store import KeyRecord

__all__ = ["MANAGER_KEY", "install_exports", "router"]

MANAGER_KEY = "exports"
router = APIRouter(tags=["exports"])


def get_manager(request: Request) -> ExportManager:
    """The :class:`ExportManager` installed by :func:`install_exports`."""
    manager: ExportManager = getattr(request.app.state, MANAGER_KEY)
    return manager


ManagerDep = Annotated[ExportManager, Depends(get_manager)]
PlannerDep = Annotated[KeyRecord | None, Depends(require(Permission.PLAN))]
ReaderDep = Annotated[KeyRecord | None, Depends(require(Permission.READ))]


def install_exports(app: FastAPI, state: AppState, max_workers: int = 1) -> ExportManager:
    """Include the export routes in ``app``; stop the workers on its shutdown."""
    settings = state.settings
    manager = ExportManager(
        settings.data_dir / "exports",
        max_workers,
        settings.export_max_jobs,
        settings.export_max_tiles,
        settings.jobs_max_active_per_key,
    )
    setattr(app.state, MANAGER_KEY, manager)
    app.include_router(router)
    close_on_shutdown(app, manager.aclose)
    return manager


def _job_response(request: Request, job: ExportJob, status: int = 200) -> Response:
    location = absolute(request, f"/exports/{job.id}")

    def href(name: str) -> str:
        return absolute(request, f"/exports/{job.id}/files/{name}")

    return json_response(job.to_dict(href), status, headers={"Location": location})


def _job(manager: ExportManager, job_id: str, record: KeyRecord | None) -> ExportJob:
    job = manager.visible(job_id, Caller.of(record))
    if job is None:  # someone else's job does not exist for this caller
        raise ResourceNotFound(
            "this key has no export job with this id (jobs are kept for a while only)"
        )
    return job


@router.post(
    "/exports",
    status_code=202,
    summary="Export an area as tile packages, COG, GeoPackage and a print PDF (a job)",
    openapi_extra=json_body(ExportIn),
)
async def post_export(
    request: Request, state: StateDep, manager: ManagerDep, caller: PlannerDep
) -> Response:
    """Queue an export of the current field, towers and zones.

    Answers 202 with the job resource and its ``Location``; 422 naming the field for a
    bad request (bbox order or range, bbox outside the district, zooms, layers,
    formats, paper, DPI, too many tiles); 409 when there is no field yet.
    """
    parsed = parse_json(ExportIn, await read_json_body(request))
    spec = parsed.to_spec()
    field = await state.fields.current()
    basemap = await run_in_threadpool(load_basemap, state.settings.data_dir)
    data = export_data(field, state.towers.current(), basemap)
    await run_in_threadpool(check_spec, spec, data, state.settings.export_max_tiles)
    owner = Caller.of(caller).key_id
    limit_rate(request.app.state, "job", owner)
    job = manager.submit(parsed.model_dump(mode="json"), spec, data, owner)
    return _job_response(request, job, 202)


@router.get(
    "/exports/{job_id}",
    summary="An export job: status, progress, files",
)
async def get_export(
    request: Request, job_id: str, manager: ManagerDep, caller: ReaderDep
) -> Response:
    """The job resource; ``files`` with their links once done, ``error`` if it failed.
    404 unless the caller submitted the job or is an admin."""
    return _job_response(request, _job(manager, job_id, caller))


@get_and_head(
    router,
    "/exports/{job_id}/files/{name}",
    summary="One file of a finished export",
    response_class=FileResponse,
    responses={206: {"description": "Partial content (Range)"}},
)
async def get_export_file(
    request: Request, job_id: str, name: str, manager: ManagerDep, caller: ReaderDep
) -> Response:
    """The file, with its media type; 404 until the job is done, and to other keys. Byte
    ranges, ``HEAD`` and ``If-None-Match`` as for every file (a finished file never
    changes)."""
    job = _job(manager, job_id, caller)
    exported = job.file(name)
    if exported is None:
        raise ResourceNotFound("this export has no such file (yet)")
    return file_response(
        request,
        job.directory / exported.name,
        media_type=exported.media_type,
        etag=f'"export-{job.id}-{exported.name}"',
        filename=exported.name,
    )


@router.delete(
    "/exports/{job_id}",
    summary="Dismiss an export job: cancel it if unfinished, remove it and its files",
)
async def delete_export(
    request: Request, job_id: str, manager: ManagerDep, caller: PlannerDep
) -> Response:
    """Dismiss the job (OGC API - Processes): a queued or running job is cancelled; the
    job and its files are removed, and the answer is the job with status ``dismissed``
    (afterwards: 404). Only its submitter or an admin may; to others it is a 404."""
    _job(manager, job_id, caller)
    job = await manager.dismiss(job_id)
    if job is None:  # dismissed meanwhile by another request
        raise ResourceNotFound("this key has no export job with this id")
    return _job_response(request, job)
