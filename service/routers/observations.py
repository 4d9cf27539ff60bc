"""``POST /observations``: idempotent, durable batch ingestion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.auth import Permission
from service.body import parse_json, read_json_body
from service.deps import StateDep, require
from service.ingest import accept_observations
from service.observability import metrics_of
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.observations import IngestOut, ObservationCollectionIn, ObservationId
from service.state import AppState
from service.store import KeyRecord

__all__ = ["router"]

router = APIRouter(tags=["observations"])
Sensor = Annotated[KeyRecord | None, Depends(require(Permission.OBSERVE))]
DataAdmin = Annotated[KeyRecord | None, Depends(require(Permission.MANAGE_DATA))]


def _ingest(state: AppState, body: bytes, key: KeyRecord | None) -> IngestOut:
    collection = parse_json(ObservationCollectionIn, body)
    observations = [f.to_observation() for f in collection.features]
    result = accept_observations(state, observations, key)
    return IngestOut(
        received=len(observations),
        new=result.new,
        known=result.known,
        data_version=state.store.data_version(),
    )


@router.post(
    "/observations",
    summary="Add observations (idempotent by feature id)",
    response_model=IngestOut,
    status_code=200,
    openapi_extra=json_body(ObservationCollectionIn, "application/geo+json", "application/json"),
)
async def post_observations(request: Request, state: StateDep, key: Sensor) -> Response:
    """Store a FeatureCollection of up to 10,000 observations.

    Ids already stored with the same content are counted as ``known`` and left as
    they are, so a client may safely retry; an id stored with other content is a 409
    naming the feature and the stored content's digest. The answer is sent only
    after the durable commit, and the store records which key wrote each
    observation. Any invalid feature refuses the whole request (422, naming each
    field; 403 for features outside a scoped key's sources or towers) and stores
    nothing.
    """
    body = await read_json_body(request)
    out = await run_in_threadpool(_ingest, state, body, key)
    metrics_of(request.app).observations(out.new, out.known)
    if out.new:
        state.fields.notify()
    return json_response(out.model_dump(), status=201 if out.new else 200)


@router.delete(
    "/collections/observations/items/{observation_id}",
    status_code=204,
    summary="Delete an observation (admin; audited)",
)
async def delete_observation(
    observation_id: Annotated[ObservationId, Path()], state: StateDep, key: DataAdmin
) -> Response:
    """Delete one observation (404 if there is none), e.g. one with an absurd date.

    The store keeps an audit record: who (key id), when, and the deleted feature
    with its digest.
    """
    key_id = None if key is None else key.key_id
    await run_in_threadpool(state.store.delete_observation, observation_id, key_id)
    state.fields.notify()
    return Response(status_code=204)
