"""Export jobs: the export core (:mod:`geo.export`) run in a worker thread, with progress.

:func:`export_data` gathers a field snapshot and the tower layer into the core's
:class:`~geo.export.ExportData`. :class:`ExportManager` runs each job in a thread pool
(the work is numpy, zlib, GDAL and Agg rendering, which release the GIL for most of
their time, so the event loop stays responsive; a process pool would have to pickle
the whole field and district for every job), writes the files under
``<data_dir>/exports/<job id>/``, and keeps its jobs in a
:class:`~service.job_table.JobTable` (owners, a per-key quota, at most ``max_jobs``: a
finished job evicted to make room takes its files with it; so do job directories left
by an earlier run). Dismissing a job (``DELETE``, OGC API - Processes) takes it out of
the table: a queued or running job is cancelled (an event its progress callback checks
between tiles and between files), and its files, or a finished job's, are removed.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from anyio import to_thread

from geo.export import ExportData, ExportSpec
from geo.export.bundle import ExportedFile, run_export
from geo.export.spec import MAX_TILES
from service.deps import Caller
from service.fields import FieldSnapshot
from service.job_table import ACTIVE, JobTable
from service.print_worker import write_pdf_isolated
from service.state import TowerLayer

__all__ = ["ExportJob", "ExportManager", "JobStatus", "export_data"]

log = logging.getLogger("blightmap.exports")
JobStatus = Literal["queued", "running", "done", "failed", "cancelled", "dismissed"]
_HEX = frozenset("0123456789abcdef")


class _Cancelled(Exception):
    """Raised inside the worker when the job's cancel event is set."""


def export_data(snapshot: FieldSnapshot, layer: TowerLayer) -> ExportData:
    """What an export draws: the snapshot's field and zones, the layer's towers and district."""
    frame = snapshot.frame
    return ExportData(
        grid=snapshot.result.grid,
        frame=frame,
        towers=tuple(layer.index.towers),
        zones=snapshot.zones,
        district_wgs84=frame.geometry_to_wgs84(layer.district.area_local),
        data_version=snapshot.data_version,
        reference_time=snapshot.result.reference_time,
        method=snapshot.result.method,
        tier_values=dict(snapshot.tier_values),
    )


@dataclass(slots=True)
class ExportJob:
    """One export job and its state, as the job resource shows it."""

    id: str
    request: dict[str, Any]
    data_version: int
    created_at: datetime
    directory: Path
    owner: str | None = None
    status: JobStatus = "queued"
    progress: int = 0
    files: list[ExportedFile] = field(default_factory=list)
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    future: Future[list[ExportedFile]] | None = field(default=None, repr=False)

    def file(self, name: str) -> ExportedFile | None:
        """The finished file called ``name``, if the job is done and made one."""
        if self.status != "done":
            return None
        return next((f for f in self.files if f.name == name), None)

    def to_dict(self, href: Any) -> dict[str, Any]:
        """The JSON job resource; ``href(name)`` gives a file's absolute URL."""
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "request": self.request,
            "data_version": self.data_version,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }
        if self.status == "done":
            body["files"] = [
                {
                    "format": f.format,
                    "name": f.name,
                    "href": href(f.name),
                    "type": f.media_type,
                    "bytes": f.bytes,
                    "layers": list(f.layers),
                }
                for f in self.files
            ]
        if self.error is not None:
            body["error"] = self.error
        return body


class ExportManager:
    """Runs export jobs in worker threads and keeps a bounded job table."""

    def __init__(
        self,
        root: Path,
        max_workers: int = 1,
        max_jobs: int = 50,
        max_tiles: int = MAX_TILES,
        max_active_per_owner: int = 3,
    ) -> None:
        self._root = root
        self._max_tiles = max_tiles
        _remove_stale(root)
        self._jobs: JobTable[ExportJob] = JobTable(
            "export", max_jobs, max_active_per_owner, _remove_files
        )
        self._pool = ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="export")
        self._lock = threading.Lock()

    def get(self, job_id: str) -> ExportJob | None:
        """The job with this id, if still in the table (whoever owns it)."""
        return self._jobs.get(job_id)

    def visible(self, job_id: str, caller: Caller) -> ExportJob | None:
        """The job if ``caller`` owns it or is an admin."""
        return self._jobs.visible(job_id, caller)

    def submit(
        self,
        request: dict[str, Any],
        spec: ExportSpec,
        data: ExportData,
        owner: str | None = None,
    ) -> ExportJob:
        """Queue a new job of ``owner`` writing ``spec`` of ``data``; it starts when a worker
        is free. Raises 429 past the owner's quota, 503 when the table is full of
        unfinished jobs (:meth:`JobTable.make_room`)."""
        self._jobs.make_room(owner)
        job_id = uuid.uuid4().hex
        job = ExportJob(
            job_id, request, data.data_version, datetime.now(UTC), self._root / job_id, owner
        )
        job.future = self._pool.submit(self._run, job, spec, data)
        self._jobs.add(job)
        return job

    def _run(self, job: ExportJob, spec: ExportSpec, data: ExportData) -> list[ExportedFile]:
        def progress(percent: int) -> None:
            with self._lock:
                if job.cancel.is_set():
                    raise _Cancelled
                job.status = "running"
                job.progress = max(job.progress, percent)

        try:
            progress(0)
            files = run_export(
                spec, data, job.directory, progress, self._max_tiles, write_pdf_isolated
            )
        except _Cancelled:
            shutil.rmtree(job.directory, ignore_errors=True)
            return []
        except Exception as exc:  # the job resource reports it; the service goes on
            log.warning("export %s failed: %s", job.id, exc)
            with self._lock:
                job.status, job.error = "failed", _reason(exc)
            shutil.rmtree(job.directory, ignore_errors=True)
            return []
        with self._lock:
            if not job.cancel.is_set():
                job.files, job.progress, job.status = files, 100, "done"
                return files
        shutil.rmtree(job.directory, ignore_errors=True)
        return []

    def _stop(self, job: ExportJob, status: JobStatus = "cancelled") -> bool:
        """Stop ``job`` if unfinished and give it ``status``; whether it was unfinished."""
        with self._lock:
            active = job.status in ACTIVE
            if active:
                job.cancel.set()
                if job.future is not None:
                    job.future.cancel()  # a queued job never starts; a running one stops
            if active or status == "dismissed":
                job.status = status
            return active

    async def dismiss(self, job_id: str) -> ExportJob | None:
        """Take the job out of the table and remove its files (OGC API - Processes dismiss).

        A queued or running job is cancelled first; it stops at its next progress step
        and removes what it wrote. The job, with status ``dismissed``, is returned once.
        """
        job = self._jobs.remove(job_id)
        if job is not None and not self._stop(job, "dismissed"):
            await to_thread.run_sync(_remove_files, job)
        return job

    async def aclose(self) -> None:
        """Cancel every job and wait for the workers to stop."""
        for job in self._jobs:
            self._stop(job)
        await to_thread.run_sync(lambda: self._pool.shutdown(wait=True, cancel_futures=True))


def _remove_files(job: ExportJob) -> None:
    shutil.rmtree(job.directory, ignore_errors=True)


def _remove_stale(root: Path) -> None:
    """Delete job directories left by an earlier run (the job table lives in memory, so
    nothing links to them any more); only names that are job ids are touched."""
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.is_dir() and len(child.name) == 32 and all(c in _HEX for c in child.name):
            shutil.rmtree(child, ignore_errors=True)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    field_name = getattr(exc, "field", None)
    if isinstance(reason, str):
        return f"{field_name}: {reason}" if field_name else reason
    return "the export could not be written; it has been logged"
