"""Liveness (``/healthz``) and readiness (``/readyz``), for probes and load balancers.

``/healthz`` says the process answers; it touches nothing else, so a slow disk never
gets a live service restarted. Anonymous callers get ``{"status": "ok"}`` only; an
admin key also gets the store, the counts and the data version.

``/readyz`` says the service can do its work: the data directory takes a write (a
probe file written, flushed to disk and removed) and has the configured free space,
the store answers, and the field of the current data version can be computed (or there
is not enough data for one yet, which is a normal state of a new district). Otherwise
it answers 503 with a problem document listing each failed check; the reasons never
include paths.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from geo.errors import TooFewObservations
from service.auth import Role, resolve_key
from service.deps import Credentials, StateDep
from service.errors import FieldError, problem_response
from service.responses import json_response
from service.state import AppState

__all__ = ["check_field", "check_storage", "router"]

log = logging.getLogger("blightmap.health")
router = APIRouter(tags=["service"])


@router.get("/healthz", summary="Liveness")
async def healthz(state: StateDep, credentials: Credentials) -> dict[str, Any]:
    """``ok`` while the process answers; details (store, counts) for admin keys only."""
    body: dict[str, Any] = {"status": "ok"}
    if credentials is None:
        return body
    role = await run_in_threadpool(resolve_key, state.store, credentials.credentials)
    if role is Role.ADMIN:
        body["store"] = state.store.describe()
        body["counts"] = await run_in_threadpool(state.store.counts)
        body["data_version"] = await run_in_threadpool(state.store.data_version)
    return body


def check_storage(state: AppState) -> list[FieldError]:
    """Problems with the data directory and the store (empty when all is well)."""
    settings = state.settings
    problems: list[FieldError] = []
    try:
        free = shutil.disk_usage(settings.data_dir).free
        if free < settings.ready_min_free_bytes:
            problems.append(
                FieldError("storage", f"{free} bytes free, below {settings.ready_min_free_bytes}")
            )
        probe = settings.data_dir / f".ready-{uuid.uuid4().hex}"
        try:
            with probe.open("wb") as handle:
                handle.write(b"\0" * 4096)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        problems.append(
            FieldError("storage", f"the data directory takes no writes ({exc.strerror})")
        )
    try:
        state.store.data_version()
    except Exception:
        log.exception("readiness: the store does not answer")
        problems.append(FieldError("store", "the store does not answer"))
    return problems


async def check_field(state: AppState, timeout_s: float) -> list[FieldError]:
    """Problems computing the field of the current data version (empty when it is
    current, or when there are not enough observations for one yet)."""
    computing = asyncio.ensure_future(state.fields.current())
    try:
        await asyncio.wait_for(asyncio.shield(computing), timeout_s)
    except TooFewObservations:
        return []
    except TimeoutError:
        return [FieldError("field", f"not recomputed within {timeout_s:g} s")]
    except Exception as exc:  # any failure: the field endpoints would fail the same way
        log.warning("readiness: the field cannot be computed: %r", exc)
        return [FieldError("field", "the field of the current data cannot be computed")]
    return []


@router.get(
    "/readyz",
    summary="Readiness",
    responses={503: {"description": "Not ready: a check failed (listed in `errors`)."}},
)
async def readyz(request: Request, state: StateDep) -> Response:
    """200 when the store is writable and the field is current; 503 with the reasons."""
    problems = await run_in_threadpool(check_storage, state)
    if not problems:
        problems += await check_field(state, state.settings.ready_field_timeout_s)
    if problems:
        detail = "; ".join(f"{p.field}: {p.reason}" for p in problems)
        return problem_response(
            503, "Not ready", "not-ready", detail, problems, {"Retry-After": "5"}, request.url.path
        )
    return json_response({"status": "ready"})
