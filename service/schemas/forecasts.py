"""Request model for ``POST /forecasts``: horizon, ensemble size, seed and a scenario."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from geo.treatments import MAX_DOSE_L_PER_M2
from service.schemas.geojson import StrictModel
from service.schemas.treatments import Rings

__all__ = ["CompareIn", "ForecastIn", "PlannedTreatmentIn", "PolygonIn", "ScenarioIn"]

MAX_HORIZON_DAYS = 30
MAX_RUNS = 1000


class PolygonIn(StrictModel):
    """A GeoJSON Polygon in lon/lat."""

    type: Literal["Polygon"]
    coordinates: Rings


class PlannedTreatmentIn(StrictModel):
    """A treatment planned for a forecast day: a current remedy zone or a polygon."""

    day: int = Field(ge=0, le=MAX_HORIZON_DAYS, description="Forecast day (0 = start).")
    zone_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    geometry: PolygonIn | None = None
    strain: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    dose_l_per_m2: float = Field(gt=0, le=MAX_DOSE_L_PER_M2, description="Litres per m².")


class ScenarioIn(StrictModel):
    """Treatments to plan on top of those already applied."""

    treatments: Annotated[list[PlannedTreatmentIn], Field(max_length=100)] = []


class ForecastIn(StrictModel):
    """A forecast request; identical requests on the same data share one job."""

    horizon_days: int = Field(7, ge=1, le=MAX_HORIZON_DAYS, description="Days to forecast.")
    runs: int = Field(200, ge=1, le=MAX_RUNS, description="Ensemble size.")
    seed: int = Field(1, ge=0, lt=2**63, description="Root seed of the ensemble.")
    threshold: float = Field(
        0.5, ge=0.0, lt=1.0, description="A tier is blighted when its intensity exceeds this."
    )
    scenario: ScenarioIn = ScenarioIn()


class CompareIn(StrictModel):
    """Two scenarios run side by side with common random numbers (the same seed)."""

    baseline: ScenarioIn = Field(
        default_factory=ScenarioIn, description="Usually no new treatment."
    )
    alternative: ScenarioIn = Field(description="E.g. treating the top remedy zones now.")
    horizon_days: int = Field(7, ge=1, le=MAX_HORIZON_DAYS, description="Days to forecast.")
    runs: int = Field(200, ge=1, le=MAX_RUNS, description="Ensemble size of each scenario.")
    seed: int = Field(1, ge=0, lt=2**63, description="Root seed shared by both scenarios.")
    threshold: float = Field(
        0.5, ge=0.0, lt=1.0, description="A tier is blighted when its intensity exceeds this."
    )
    min_drop: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="A tower counts as saved when its last-day probability drops by more.",
    )
