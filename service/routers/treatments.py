"""``POST /treatments``: planners record what they applied (listed in the treatments collection)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from service.auth import Permission
from service.body import parse_json, read_json_body
from service.collections import treatment_feature
from service.deps import StateDep, require
from service.errors import FieldError, InvalidContent
from service.fields import FieldSnapshot
from service.ingest import check_plausible_time
from service.ogc import GEOJSON, absolute
from service.openapi_docs import json_body
from service.responses import json_response
from service.schemas.treatments import TreatmentFeatureIn
from service.state import AppState
from service.store import KeyRecord

__all__ = ["router"]

router = APIRouter(tags=["treatments"], dependencies=[Depends(require(Permission.PLAN))])
Planner = Annotated[KeyRecord | None, Depends(require(Permission.PLAN))]


def _record(
    state: AppState, body: bytes, field: FieldSnapshot | None, key: KeyRecord | None
) -> dict[str, Any]:
    parsed = parse_json(TreatmentFeatureIn, body)
    check_plausible_time(state.settings, parsed.properties.applied_at, "properties.applied_at")
    zone_id = parsed.properties.zone_id
    zone = None
    if zone_id is not None:
        zone = next((z for z in field.zones if z.id == zone_id), None) if field else None
        if zone is None and parsed.geometry is None:
            raise InvalidContent(
                "no current remedy zone has this id",
                [FieldError("properties.zone_id", "no current remedy zone has this id")],
            )
    treatment = parsed.to_treatment(zone.geometry_wgs84 if zone is not None else None)
    state.store.add_treatment(treatment, None if key is None else key.key_id)
    return treatment_feature(treatment)


@router.post(
    "/treatments",
    status_code=201,
    summary="Record an applied treatment",
    openapi_extra=json_body(TreatmentFeatureIn, "application/geo+json", "application/json"),
)
async def post_treatment(request: Request, state: StateDep, key: Planner) -> Response:
    """Record a microbial treatment (polygon or a current zone, strain, dose, time).

    Its expected protection (efficacy decaying with a half-life) shows in the
    treatments collection and feeds the spread forecast.
    """
    body = await read_json_body(request)
    field = await state.fields.current_or_none()
    feature = await run_in_threadpool(_record, state, body, field, key)
    state.fields.notify()
    location = absolute(request, f"/collections/treatments/items/{feature['id']}")
    return json_response(feature, 201, GEOJSON, {"Location": location})
