"""Forecast jobs: the manager running :mod:`service.forecast_compute` in worker processes.

:class:`ForecastManager` runs each job in a worker process (``ProcessPoolExecutor``
with the "spawn" start method, safe beside the service's threads), so the event loop
stays responsive; progress comes back through a ``multiprocessing.Manager`` value that
an asyncio task polls, and cancellation is a managed event the worker checks after
every ABC simulation and every ensemble run. Jobs are cached per submitting key by
``(data_version, kind, canonical request JSON)``, and kept in a
:class:`~service.job_table.JobTable` (owners, a per-key quota, at most ``max_jobs``,
only finished jobs evicted). Dismissing a job (``DELETE``) cancels it if unfinished
and removes it from the table.

A job is a forecast (``kind="forecast"``) or a comparison of two scenarios
(``kind="compare"``). The latest finished forecast's fronts are also written to
``<data_dir>/forecasts/latest-fronts.json`` (the ``forecast-fronts`` collection reads
them, and they survive a restart); its probability grids stay in memory
(:meth:`ForecastManager.latest_probability_grids`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import uuid
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any, Literal

from anyio import to_thread

from geo.grid import Grid
from service.child_process import die_with_parent
from service.deps import Caller
from service.forecast_compute import (
    FRONT_LEVELS,
    ForecastInputs,
    ForecastOutput,
    compute_comparison,
    compute_forecast,
)
from service.job_table import ACTIVE, JobTable

__all__ = [
    "FRONT_LEVELS",
    "ForecastInputs",
    "ForecastJob",
    "ForecastManager",
    "ForecastOutput",
    "JobKind",
    "JobStatus",
    "compute_forecast",
    "fronts_path",
]

log = logging.getLogger("blightmap.forecasts")
JobStatus = Literal["queued", "running", "done", "failed", "cancelled", "dismissed"]
JobKind = Literal["forecast", "compare"]
_POLL_S = 0.1
_STOPPED = ("cancelled", "dismissed")


class _Cancelled(Exception):
    """Raised inside the worker when the job's cancel event is set."""


def _work(kind: JobKind, inputs: ForecastInputs, percent: Any, cancel: Any) -> ForecastOutput:
    """Worker-process entry point: run with progress into ``percent``, stop on ``cancel``."""

    def progress(fraction: float) -> None:
        if cancel.is_set():
            raise _Cancelled
        percent.value = min(99, int(100 * fraction))

    if cancel.is_set():
        raise _Cancelled
    if kind == "compare":
        return compute_comparison(inputs, progress)
    return compute_forecast(inputs, progress)


def fronts_path(data_dir: Path) -> Path:
    """Where the latest finished forecast's fronts are kept."""
    return data_dir / "forecasts" / "latest-fronts.json"


def _write_fronts(path: Path, job: ForecastJob) -> None:
    assert job.result is not None
    body = {
        "forecast_id": job.id,
        "data_version": job.data_version,
        "finished_at": _iso(job.finished_at or job.created_at),
        "start": job.result.get("start"),
        "fronts": job.result["fronts"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, allow_nan=False))
    os.replace(tmp, path)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class ForecastJob:
    """One forecast (or comparison) job and its state, as the job resource shows it."""

    id: str
    key: str
    kind: JobKind
    request: dict[str, Any]
    data_version: int
    created_at: datetime
    status: JobStatus = "queued"
    progress: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    output: ForecastOutput | None = field(default=None, repr=False)
    finished_at: datetime | None = None
    owner: str | None = None
    cancel: Any = field(default=None, repr=False)
    future: Future[ForecastOutput] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON job resource."""
        body: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": self.progress,
            "request": self.request,
            "data_version": self.data_version,
            "created_at": _iso(self.created_at),
        }
        if self.finished_at is not None:
            body["finished_at"] = _iso(self.finished_at)
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error
        return body


def canonical_key(data_version: int, kind: JobKind, request: dict[str, Any]) -> str:
    """The cache key of a request of ``kind`` on a data version."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return f"{data_version}:{kind}:{text}"


class ForecastManager:
    """Runs forecast jobs in worker processes and keeps a bounded job table.

    The pool and the ``multiprocessing`` manager start on the first job; call
    :meth:`aclose` on shutdown. With ``data_dir`` the latest finished forecast's
    fronts are written to :func:`fronts_path`.
    """

    def __init__(
        self,
        max_workers: int = 1,
        max_jobs: int = 100,
        data_dir: Path | None = None,
        max_active_per_owner: int = 3,
    ) -> None:
        self._max_workers = max(1, max_workers)
        self._data_dir = data_dir
        self._jobs: JobTable[ForecastJob] = JobTable("forecast", max_jobs, max_active_per_owner)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool: ProcessPoolExecutor | None = None
        self._sync: SyncManager | None = None
        self._latest: ForecastJob | None = None

    def _start(self) -> tuple[ProcessPoolExecutor, SyncManager]:
        if self._pool is None or self._sync is None:
            context = multiprocessing.get_context("spawn")
            sync = SyncManager(ctx=context)
            sync.start(initializer=die_with_parent)  # no orphans after a kill -9
            self._sync = sync
            self._pool = ProcessPoolExecutor(
                self._max_workers, mp_context=context, initializer=die_with_parent
            )
        return self._pool, self._sync

    def get(self, job_id: str) -> ForecastJob | None:
        """The job with this id, if still in the table (whoever owns it)."""
        return self._jobs.get(job_id)

    def visible(self, job_id: str, caller: Caller) -> ForecastJob | None:
        """The job if ``caller`` owns it or is an admin."""
        return self._jobs.visible(job_id, caller)

    def find(self, key: str, owner: str | None = None) -> ForecastJob | None:
        """A queued, running or done job of ``owner`` for this cache key."""
        for job in reversed(list(self._jobs)):
            if (
                job.key == key
                and job.owner == owner
                and job.status in ("queued", "running", "done")
            ):
                return job
        return None

    async def submit(
        self,
        request: dict[str, Any],
        data_version: int,
        inputs: ForecastInputs,
        kind: JobKind = "forecast",
        owner: str | None = None,
    ) -> tuple[ForecastJob, bool]:
        """The job of ``owner`` for ``request`` of ``kind`` on ``data_version``: an existing
        one, or a new one. Returns the job and whether it was created. Raises 429 past
        the owner's quota, 503 when the table is full of unfinished jobs."""
        key = canonical_key(data_version, kind, request)
        existing = self.find(key, owner)
        if existing is not None:
            return existing, False
        self._jobs.make_room(owner)
        pool, sync = await to_thread.run_sync(self._start)
        self._jobs.make_room(owner)  # again: other submissions ran meanwhile
        percent, cancel = sync.Value("i", 0), sync.Event()
        job = ForecastJob(uuid.uuid4().hex, key, kind, request, data_version, datetime.now(UTC))
        job.owner, job.cancel = owner, cancel
        job.future = pool.submit(_work, kind, inputs, percent, cancel)
        self._jobs.add(job)
        task = asyncio.get_running_loop().create_task(self._follow(job, percent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job, True

    def _stop(self, job: ForecastJob) -> None:
        if job.status in ACTIVE:
            job.status = "cancelled"
            if job.cancel is not None:
                with contextlib.suppress(Exception):
                    job.cancel.set()
            if job.future is not None:
                job.future.cancel()

    async def _follow(self, job: ForecastJob, percent: Any) -> None:
        assert job.future is not None
        waiter = asyncio.wrap_future(job.future)
        while not waiter.done():
            await asyncio.wait({waiter}, timeout=_POLL_S)
            if job.status not in _STOPPED:
                _read_progress(job, percent)
        try:
            output = waiter.result()
        except (CancelledError, _Cancelled):
            if job.status != "dismissed":
                job.status = "cancelled"
        except Exception as exc:  # the job resource reports it; the service goes on
            if job.status not in _STOPPED:
                log.warning("forecast %s failed: %s", job.id, exc)
                job.status, job.error = "failed", _reason(exc)
        else:
            if job.status not in _STOPPED:
                job.output, job.finished_at = output, datetime.now(UTC)
                job.status, job.progress, job.result = "done", 100, output.result
                if job.kind == "forecast":
                    await self._publish(job)

    async def _publish(self, job: ForecastJob) -> None:
        self._latest = job
        if self._data_dir is not None:
            try:
                await to_thread.run_sync(_write_fronts, fronts_path(self._data_dir), job)
            except OSError as exc:
                log.warning("could not write the latest forecast fronts: %s", exc)

    def latest_done(self) -> ForecastJob | None:
        """The most recently finished forecast (not comparison) job, if any."""
        return self._latest

    def latest_probability_grids(self) -> tuple[str, int, list[Grid]] | None:
        """The latest finished forecast's probability grids: job id, data version, and
        one :class:`geo.grid.Grid` per forecast day (day 1 first), values in [0, 1]."""
        job = self._latest
        if job is None or job.output is None:
            return None
        return job.id, job.data_version, job.output.grids()

    def dismiss(self, job_id: str) -> ForecastJob | None:
        """Take the job out of the table, cancelling it if unfinished (OGC API - Processes
        dismiss); it is returned once, with status ``dismissed``. The latest finished
        forecast's published layer (fronts, tiles) stays until a newer one finishes."""
        job = self._jobs.remove(job_id)
        if job is not None:
            self._stop(job)
            job.status = "dismissed"
        return job

    async def aclose(self) -> None:
        """Cancel every job, stop the worker processes and the manager."""
        for job in self._jobs:
            self._stop(job)
        pool, sync = self._pool, self._sync
        self._pool = self._sync = None
        if pool is not None:
            # The workers see their cancel events at their next check and stop.
            await to_thread.run_sync(lambda: pool.shutdown(wait=True, cancel_futures=True))
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if sync is not None:
            await to_thread.run_sync(sync.shutdown)


def _read_progress(job: ForecastJob, percent: Any) -> None:
    """Copy the worker's percentage (a managed value) into ``job``."""
    with contextlib.suppress(Exception):
        value = int(percent.value)
        if value > 0:
            job.status = "running"
        job.progress = max(job.progress, value)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    field_name = getattr(exc, "field", None)
    if isinstance(reason, str):
        return f"{field_name}: {reason}" if field_name else reason
    return "the forecast could not be computed; it has been logged"
