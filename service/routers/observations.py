"""``POST /observations``: idempotent, durable batch ingestion."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.auth import Permission
from service.body import parse_json, read_json_body
from service.deps import StateDep, require
from service.ingest import accept_observations
from service.observability import metrics_of
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.observations import IngestOut, ObservationCollectionIn
from service.state import AppState

__all__ = ["router"]

router = APIRouter(tags=["observations"])


def _ingest(state: AppState, body: bytes) -> IngestOut:
    collection = parse_json(ObservationCollectionIn, body)
    observations = [f.to_observation() for f in collection.features]
    result = accept_observations(state, observations)
    return IngestOut(
        received=len(observations),
        new=result.new,
        known=result.known,
        data_version=state.store.data_version(),
    )


@router.post(
    "/observations",
    summary="Add observations (idempotent by feature id)",
    dependencies=[Depends(require(Permission.OBSERVE))],
    response_model=IngestOut,
    status_code=200,
    openapi_extra=json_body(ObservationCollectionIn, "application/geo+json", "application/json"),
)
async def post_observations(request: Request, state: StateDep) -> Response:
    """Store a FeatureCollection of up to 10,000 observations.

    Ids already stored are counted as ``known`` and left as they are, so a client
    may safely retry. The answer is sent only after the durable commit. Any invalid
    feature refuses the whole request (422, naming each field) and stores nothing.
    """
    body = await read_json_body(request)
    out = await run_in_threadpool(_ingest, state, body)
    metrics_of(request.app).observations(out.new, out.known)
    if out.new:
        state.fields.notify()
    return json_response(out.model_dump(), status=201 if out.new else 200)
