"""Forecast requests -> :class:`~service.forecast_compute.ForecastInputs` (blocking glue).

Shared by the HTTP routes and ``blightmap forecast``: scenario treatments are resolved
(remedy zones by id, or polygons), the observation history is read from the store as
daily tier states, and the calibration budget comes from the settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from geo.forecast.model import Hosts
from geo.forecast.observed import ObservedSeries
from geo.treatments import Treatment
from service.errors import FieldError, InvalidContent
from service.fields import FieldSnapshot
from service.forecast_calibration import CalibrationBudget, observed_history
from service.forecast_compute import ForecastInputs
from service.schemas.forecasts import PlannedTreatmentIn, ScenarioIn
from service.schemas.treatments import AreaIn, TreatmentFeatureIn, TreatmentPropertiesIn
from service.settings import Settings
from service.state import AppState
from service.store import ObservationQuery

__all__ = ["budget_from_settings", "build_inputs", "calibration_dir", "planned_treatments"]

Planned = tuple[tuple[int, Treatment], ...]


def calibration_dir(settings: Settings) -> Path:
    """Where calibration records persist: next to the store."""
    return settings.data_dir / "forecast-calibration"


def budget_from_settings(settings: Settings) -> CalibrationBudget:
    """The calibration and hindcast budget the settings give."""
    fit = settings.forecast_calibration_simulations
    return CalibrationBudget(
        history_days=settings.forecast_history_days,
        fit_simulations=fit,
        update_simulations=max(20, (3 * fit) // 8),
        max_seconds=settings.forecast_calibration_max_s,
        skill_horizons=tuple(settings.forecast_skill_horizons),
        skill_runs=settings.forecast_skill_runs,
        skill_simulations=max(20, (3 * fit) // 8),
    )


def _invalid(where: str, reason: str) -> InvalidContent:
    return InvalidContent(f"{where}: {reason}", [FieldError(where, reason)])


def _planned(
    item: PlannedTreatmentIn, where: str, field: FieldSnapshot, when: datetime
) -> tuple[int, Treatment]:
    zone = None
    if item.zone_id is not None:
        zone = next((z for z in field.zones if z.id == item.zone_id), None)
        if zone is None:
            raise _invalid(f"{where}.zone_id", "no current remedy zone has this id")
    if zone is None and item.geometry is None:
        raise _invalid(
            f"{where}.geometry", "give a Polygon, or null with the zone_id of a current remedy zone"
        )
    geometry = (
        AreaIn(type="Polygon", coordinates=item.geometry.coordinates)
        if item.geometry is not None
        else None
    )
    feature = TreatmentFeatureIn(
        type="Feature",
        id=f"planned-{where.rsplit('.', 1)[-1]}",
        geometry=geometry,
        properties=TreatmentPropertiesIn(
            strain=item.strain, dose_l_per_m2=item.dose_l_per_m2, applied_at=when
        ),
    )
    return item.day, feature.to_treatment(zone.geometry_wgs84 if zone is not None else None)


def planned_treatments(
    scenario: ScenarioIn, prefix: str, horizon_days: int, field: FieldSnapshot
) -> Planned:
    """The scenario's treatments as ``(day, Treatment)``; 422 naming ``<prefix>.treatments.
    <i>.<field>`` for a day after the horizon, an unknown zone or a missing geometry."""
    for i, item in enumerate(scenario.treatments):
        if item.day > horizon_days:
            raise _invalid(f"{prefix}.treatments.{i}.day", "must not be after horizon_days")
    start = field.result.reference_time
    return tuple(
        _planned(item, f"{prefix}.treatments.{i}", field, start)
        for i, item in enumerate(scenario.treatments)
    )


def _history(
    state: AppState, field: FieldSnapshot, hosts: Hosts, days: int
) -> ObservedSeries | None:
    latest = state.store.latest_observation_time()
    if latest is None:
        return None
    since = latest - timedelta(days=days)
    query = ObservationQuery(start=since, limit=10**9)
    observations = state.store.query_observations(query).items
    return observed_history(observations, hosts, latest, days)


def build_inputs(
    state: AppState,
    field: FieldSnapshot,
    request: Any,
    planned: Planned,
    alternative: Planned | None = None,
) -> ForecastInputs:
    """The worker's inputs for a parsed request (``ForecastIn`` or ``CompareIn``) on
    the current towers, field, treatments and observation history (blocking)."""
    settings = state.settings
    budget = budget_from_settings(settings)
    towers = tuple(state.towers.current().index.towers)
    frame = field.frame
    hosts = Hosts.from_towers(towers, frame)
    spec = field.result.grid.spec
    return ForecastInputs(
        towers=towers,
        tier_values=dict(field.tier_values),
        crs=f"EPSG:{frame.epsg}" if frame.epsg else frame.crs.to_wkt(),
        grid=(spec.west_m, spec.north_m, spec.resolution_m, spec.width, spec.height),
        applied=tuple(state.store.list_treatments()),
        planned=planned,
        start=field.result.reference_time,
        horizon_days=request.horizon_days,
        runs=request.runs,
        seed=request.seed,
        threshold=request.threshold,
        data_version=field.data_version,
        history=_history(state, field, hosts, budget.history_days),
        calibration_dir=str(calibration_dir(settings)),
        budget=budget,
        alternative=alternative,
        min_drop=float(getattr(request, "min_drop", 0.0)),
    )
