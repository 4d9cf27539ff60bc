"""Forecast jobs: the blocking ensemble computation and the manager running it in a process.

:func:`compute_forecast` is plain glue (picklable inputs -> :mod:`geo.forecast` ->
JSON-safe dict). :class:`ForecastManager` runs it in a worker process
(``ProcessPoolExecutor`` with the "spawn" start method, safe beside the service's
threads), so the event loop stays responsive; progress comes back through a
``multiprocessing.Manager`` value that an asyncio task polls, and cancellation is a
managed event the worker checks after every ensemble run. Jobs are cached by
``(data_version, canonical request JSON)`` and the table keeps the newest
``max_jobs`` jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import multiprocessing
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.managers import SyncManager
from typing import Any, Literal

import numpy as np
from anyio import to_thread

from geo.crs import LocalFrame
from geo.forecast.ensemble import ensemble
from geo.forecast.fronts import forecast_fronts, probability_grid
from geo.forecast.model import Hosts, SpreadParams
from geo.forecast.scenario import PlannedTreatment, protection_schedule
from geo.grid import Grid, GridSpec
from geo.layer import Tower
from geo.treatments import Treatment

__all__ = [
    "FRONT_LEVELS",
    "ForecastInputs",
    "ForecastJob",
    "ForecastManager",
    "ForecastOutput",
    "JobStatus",
    "compute_forecast",
]

log = logging.getLogger("blightmap.forecasts")
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FRONT_LEVELS = (0.5, 0.9)
_POLL_S = 0.1


class _Cancelled(Exception):
    """Raised inside the worker when the job's cancel event is set."""


@dataclass(frozen=True, slots=True)
class ForecastInputs:
    """Everything the worker needs, all picklable.

    Attributes
    ----------
    towers : tuple of Tower
    tier_values : dict of (tower_id, level) to (intensity, std_error)
        The field's values at the tiers (the ensemble's starting state).
    crs : str
        The field's local frame: ``"EPSG:<code>"`` or WKT.
    grid : tuple of (west_m, north_m, resolution_m, width, height)
        The field's grid, on which the fronts are contoured.
    applied : tuple of Treatment
        Treatments already recorded (they keep protecting as they decay).
    planned : tuple of (day, Treatment)
        The scenario's planned treatments.
    start : datetime
        Forecast day 0 (the field's reference time).
    horizon_days, runs, seed : int
    threshold : float
        A tier is blighted when its intensity is strictly above this.
    """

    towers: tuple[Tower, ...]
    tier_values: dict[tuple[str, int], tuple[float, float]]
    crs: str
    grid: tuple[float, float, float, int, int]
    applied: tuple[Treatment, ...]
    planned: tuple[tuple[int, Treatment], ...]
    start: datetime
    horizon_days: int
    runs: int
    seed: int
    threshold: float


@dataclass(frozen=True, slots=True, eq=False)
class ForecastOutput:
    """A finished forecast: its JSON result and its probability grids.

    Attributes
    ----------
    result : dict
        The JSON-safe result of the job resource.
    probability : numpy.ndarray of float32, shape (days, height, width)
        Probability of blight on the field's grid for days ``1 .. horizon_days``
        (:func:`geo.forecast.fronts.probability_grid` of the per-tier probabilities).
    grid : tuple of (crs, west_m, north_m, resolution_m, width, height)
        The grid of ``probability`` (``crs`` as ``"EPSG:<code>"`` or WKT).
    """

    result: dict[str, Any]
    probability: np.ndarray
    grid: tuple[str, float, float, float, int, int]

    def spec(self) -> GridSpec:
        """The :class:`GridSpec` of :attr:`probability`."""
        crs, west, north, res, width, height = self.grid
        return GridSpec(LocalFrame.from_crs(crs).crs, west, north, res, width, height)

    def grids(self) -> list[Grid]:
        """One :class:`Grid` per forecast day (variance 0: the probability is the value)."""
        spec = self.spec()
        zeros = np.zeros(spec.shape)
        return [Grid(spec, day.astype(np.float64), zeros) for day in self.probability]


def calibration() -> dict[str, Any]:
    """The spread parameters used: the model's prior defaults (not fitted yet)."""
    return {
        "method": "defaults",
        "parameters": _finite(dataclasses.asdict(SpreadParams())),
        "note": (
            "prior defaults of geo.forecast.model.SpreadParams, not fitted to observations; "
            "ABC calibration (geo.forecast.calibrate) will replace them when wired"
        ),
    }


def _finite(value: Any) -> Any:
    """``value`` with numpy scalars made plain and non-finite floats made None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _start_arrays(hosts: Hosts, tier_values: dict[tuple[str, int], tuple[float, float]]) -> Any:
    levels = hosts.level if hosts.level is not None else np.zeros(hosts.n, np.int64)
    mean = np.zeros(hosts.n)
    se = np.zeros(hosts.n)
    for h, (t, lv) in enumerate(zip(hosts.tower_index, levels, strict=True)):
        value, error = tier_values.get((hosts.tower_ids[int(t)], int(lv)), (0.0, 0.0))
        mean[h] = min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
        se[h] = max(error, 0.0) if math.isfinite(error) else 0.0
    return mean, se


def compute_forecast(
    inputs: ForecastInputs, progress: Callable[[int, int], None] | None = None
) -> ForecastOutput:
    """Run the ensemble forecast of ``inputs`` (blocking) and describe it as JSON.

    ``progress(done, runs)`` is called after each run and may raise to stop the job.
    Per-tower probabilities are the largest of the tower's tier probabilities (a lower
    bound of "any tier blighted"); day 0 (the start) is left out of every series.

    Raises
    ------
    GeoError
        When the inputs cannot give a forecast.
    """
    frame = LocalFrame.from_crs(inputs.crs)
    hosts = Hosts.from_towers(inputs.towers, frame)
    days = inputs.horizon_days
    planned = [PlannedTreatment(day, t) for day, t in inputs.planned]
    schedule = protection_schedule(
        hosts, inputs.towers, frame, planned, list(inputs.applied), inputs.start, days
    )
    # Protection varies by day: the model steps from day d with row d of the
    # (decaying, day-dependent) schedule as the hosts' protection.
    mean, se = _start_arrays(hosts, inputs.tier_values)
    result = ensemble(
        hosts,
        mean,
        se,
        SpreadParams(),
        days,
        inputs.runs,
        inputs.seed,
        inputs.threshold,
        progress,
        protection_by_day=np.clip(schedule, 0.0, 1.0),
    )
    prob = np.clip(np.nan_to_num(result.probability, nan=0.0), 0.0, 1.0)
    levels = result.host_level
    towers = []
    for t_idx, tower_id in enumerate(result.tower_ids):
        members = np.flatnonzero(result.host_tower_index == t_idx)
        if members.size == 0:
            continue
        tiers = [
            {"tier": int(levels[h]), "probability": [float(p) for p in prob[1:, h]]}
            for h in members
        ]
        per_day = prob[1:, members].max(axis=1)
        towers.append(
            {"tower_id": tower_id, "probability": [float(p) for p in per_day], "tiers": tiers}
        )
    curve = [
        {
            "day": day,
            "mean": float(result.towers_blighted_mean[day]),
            "p05": float(result.towers_blighted_p05[day]),
            "p95": float(result.towers_blighted_p95[day]),
        }
        for day in range(1, days + 1)
    ]
    west, north, res, width, height = inputs.grid
    spec = GridSpec(frame.crs, west, north, res, width, height)
    fronts = forecast_fronts(hosts, prob, spec, frame, FRONT_LEVELS, range(1, days + 1))
    grids = np.stack([probability_grid(hosts, prob[d], spec) for d in range(1, days + 1)])
    result = _finite(
        {
            "threshold": inputs.threshold,
            "start": inputs.start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "towers": towers,
            "expected_blighted_towers": curve,
            "fronts": {
                "type": "FeatureCollection",
                "features": [f.to_feature() for f in fronts],
            },
            "calibration": calibration(),
            "skill": {"status": "not computed", "reason": "hindcast scoring is not wired yet"},
        }
    )
    return ForecastOutput(
        result, grids.astype(np.float32), (inputs.crs, west, north, res, width, height)
    )


def _work(inputs: ForecastInputs, percent: Any, cancel: Any) -> ForecastOutput:
    """Worker-process entry point: run with progress into ``percent``, stop on ``cancel``."""

    def progress(done: int, total: int) -> None:
        if cancel.is_set():
            raise _Cancelled
        percent.value = min(99, int(100 * done / total))

    if cancel.is_set():
        raise _Cancelled
    return compute_forecast(inputs, progress)


@dataclass(slots=True)
class ForecastJob:
    """One forecast job and its state, as the job resource shows it."""

    id: str
    key: str
    request: dict[str, Any]
    data_version: int
    created_at: datetime
    status: JobStatus = "queued"
    progress: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    output: ForecastOutput | None = field(default=None, repr=False)
    finished_at: datetime | None = None
    cancel: Any = field(default=None, repr=False)
    future: Future[ForecastOutput] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON job resource."""
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "request": self.request,
            "data_version": self.data_version,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error
        return body


def canonical_key(data_version: int, request: dict[str, Any]) -> str:
    """The cache key of a request on a data version."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return f"{data_version}:{text}"


class ForecastManager:
    """Runs forecast jobs in worker processes and keeps a bounded job table.

    The pool and the ``multiprocessing`` manager start on the first job; call
    :meth:`aclose` on shutdown.
    """

    def __init__(self, max_workers: int = 1, max_jobs: int = 100) -> None:
        self._max_workers = max(1, max_workers)
        self._max_jobs = max(1, max_jobs)
        self._jobs: OrderedDict[str, ForecastJob] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool: ProcessPoolExecutor | None = None
        self._sync: SyncManager | None = None

    def _start(self) -> tuple[ProcessPoolExecutor, SyncManager]:
        if self._pool is None or self._sync is None:
            context = multiprocessing.get_context("spawn")
            sync = SyncManager(ctx=context)
            sync.start()
            self._sync = sync
            self._pool = ProcessPoolExecutor(self._max_workers, mp_context=context)
        return self._pool, self._sync

    def get(self, job_id: str) -> ForecastJob | None:
        """The job with this id, if still in the table."""
        return self._jobs.get(job_id)

    def find(self, key: str) -> ForecastJob | None:
        """A queued, running or done job for this cache key."""
        for job in reversed(self._jobs.values()):
            if job.key == key and job.status in ("queued", "running", "done"):
                return job
        return None

    async def submit(
        self, request: dict[str, Any], data_version: int, inputs: ForecastInputs
    ) -> tuple[ForecastJob, bool]:
        """The job for ``request`` on ``data_version``: an existing one, or a new one.

        Returns the job and whether it was created.
        """
        key = canonical_key(data_version, request)
        existing = self.find(key)
        if existing is not None:
            return existing, False
        pool, sync = await to_thread.run_sync(self._start)
        percent, cancel = sync.Value("i", 0), sync.Event()
        job = ForecastJob(uuid.uuid4().hex, key, request, data_version, datetime.now(UTC))
        job.cancel = cancel
        job.future = pool.submit(_work, inputs, percent, cancel)
        self._jobs[job.id] = job
        self._trim()
        task = asyncio.get_running_loop().create_task(self._follow(job, percent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job, True

    def _trim(self) -> None:
        while len(self._jobs) > self._max_jobs:
            _, old = self._jobs.popitem(last=False)
            self._stop(old)

    def _stop(self, job: ForecastJob) -> None:
        if job.status in ("queued", "running"):
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
            if job.status == "cancelled":
                continue
            with contextlib.suppress(Exception):
                value = int(percent.value)
                if value > 0:
                    job.status = "running"
                job.progress = max(job.progress, value)
        try:
            output = waiter.result()
        except (CancelledError, _Cancelled):
            job.status = "cancelled"
        except Exception as exc:  # the job resource reports it; the service goes on
            if job.status != "cancelled":
                log.warning("forecast %s failed: %s", job.id, exc)
                job.status, job.error = "failed", _reason(exc)
        else:
            if job.status != "cancelled":
                job.output, job.finished_at = output, datetime.now(UTC)
                job.status, job.progress, job.result = "done", 100, output.result

    def latest_done(self) -> ForecastJob | None:
        """The most recently finished job that is ``done``, if any."""
        done = [j for j in self._jobs.values() if j.status == "done" and j.output is not None]
        return max(done, key=lambda j: j.finished_at or j.created_at, default=None)

    def latest_probability_grids(self) -> tuple[str, int, list[Grid]] | None:
        """The latest finished forecast's probability grids: job id, data version, and
        one :class:`geo.grid.Grid` per forecast day (day 1 first), values in [0, 1]."""
        job = self.latest_done()
        if job is None or job.output is None:
            return None
        return job.id, job.data_version, job.output.grids()

    def cancel(self, job_id: str) -> ForecastJob | None:
        """Cancel a queued or running job (finished jobs stay as they are)."""
        job = self._jobs.get(job_id)
        if job is not None:
            self._stop(job)
        return job

    async def aclose(self) -> None:
        """Cancel every job, stop the worker processes and the manager."""
        for job in self._jobs.values():
            self._stop(job)
        pool, sync = self._pool, self._sync
        self._pool = self._sync = None
        if pool is not None:
            # The workers see their cancel events after the current run and stop.
            await to_thread.run_sync(lambda: pool.shutdown(wait=True, cancel_futures=True))
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if sync is not None:
            await to_thread.run_sync(sync.shutdown)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    field_name = getattr(exc, "field", None)
    if isinstance(reason, str):
        return f"{field_name}: {reason}" if field_name else reason
    return "the forecast could not be computed; it has been logged"
