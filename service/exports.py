"""Export jobs: the export core (:mod:`geo.export`) run in a worker thread, with progress.

:func:`export_data` gathers a field snapshot and the tower layer into the core's
:class:`~geo.export.ExportData`. :class:`ExportManager` runs each job in a thread pool
(the work is numpy, zlib, GDAL and Agg rendering, which release the GIL for most of
their time, so the event loop stays responsive; a process pool would have to pickle
the whole field and district for every job), writes the files under
``<data_dir>/exports/<job id>/``, and keeps the newest ``max_jobs`` jobs (older jobs'
files are deleted with them; so are job directories left by an earlier run).
Cancelling sets an event that the job's progress callback checks between tiles and
between files; a cancelled or failed job's files are removed.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from anyio import to_thread

from geo.basemap import Basemap
from geo.export import ExportData, ExportSpec
from geo.export.bundle import ExportedFile, run_export
from geo.export.spec import MAX_TILES
from service.fields import FieldSnapshot
from service.print_worker import write_pdf_isolated
from service.state import TowerLayer

__all__ = ["ExportJob", "ExportManager", "JobStatus", "export_data"]

log = logging.getLogger("blightmap.exports")
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
_HEX = frozenset("0123456789abcdef")


class _Cancelled(Exception):
    """Raised inside the worker when the job's cancel event is set."""


def export_data(
    snapshot: FieldSnapshot, layer: TowerLayer, basemap: Basemap | None = None
) -> ExportData:
    """What an export draws: the snapshot's field and zones, the layer's towers and
    district, and the imported basemap (:mod:`service.basemap`) when there is one."""
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
        basemap=basemap,
    )


@dataclass(slots=True)
class ExportJob:
    """One export job and its state, as the job resource shows it."""

    id: str
    request: dict[str, Any]
    data_version: int
    created_at: datetime
    directory: Path
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
        self, root: Path, max_workers: int = 1, max_jobs: int = 50, max_tiles: int = MAX_TILES
    ) -> None:
        self._root = root
        self._max_tiles = max_tiles
        _remove_stale(root)
        self._max_jobs = max(1, max_jobs)
        self._jobs: OrderedDict[str, ExportJob] = OrderedDict()
        self._pool = ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="export")
        self._lock = threading.Lock()

    def get(self, job_id: str) -> ExportJob | None:
        """The job with this id, if still in the table."""
        return self._jobs.get(job_id)

    def submit(self, request: dict[str, Any], spec: ExportSpec, data: ExportData) -> ExportJob:
        """Queue a new job writing ``spec`` of ``data``; it starts when a worker is free."""
        job_id = uuid.uuid4().hex
        job = ExportJob(job_id, request, data.data_version, datetime.now(UTC), self._root / job_id)
        job.future = self._pool.submit(self._run, job, spec, data)
        self._jobs[job.id] = job
        self._trim()
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

    def _trim(self) -> None:
        while len(self._jobs) > self._max_jobs:
            _, old = self._jobs.popitem(last=False)
            self._stop(old)
            if old.status not in ("queued", "running"):
                shutil.rmtree(old.directory, ignore_errors=True)

    def _stop(self, job: ExportJob) -> None:
        with self._lock:
            if job.status in ("queued", "running"):
                job.cancel.set()
                job.status = "cancelled"
                if job.future is not None:
                    job.future.cancel()  # a queued job never starts; a running one stops

    def cancel(self, job_id: str) -> ExportJob | None:
        """Cancel a queued or running job (finished jobs stay as they are).

        The status says ``cancelled`` at once; a running job stops at its next progress
        step and its files are removed.
        """
        job = self._jobs.get(job_id)
        if job is not None:
            self._stop(job)
        return job

    async def aclose(self) -> None:
        """Cancel every job and wait for the workers to stop."""
        for job in self._jobs.values():
            self._stop(job)
        await to_thread.run_sync(lambda: self._pool.shutdown(wait=True, cancel_futures=True))


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
