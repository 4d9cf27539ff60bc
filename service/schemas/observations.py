"""Request and response models for observations."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from geo.layer import TOWER_ID_PATTERN
from geo.observations import Observation, Source
from service.schemas.geojson import Bbox, Position, StrictModel
from service.schemas.times import UtcDatetime

__all__ = [
    "MAX_FEATURES_PER_REQUEST",
    "IngestOut",
    "ObservationCollectionIn",
    "ObservationFeatureIn",
    "ObservationId",
]

MAX_FEATURES_PER_REQUEST = 10_000
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ObservationId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
]


class PointIn(StrictModel):
    """A GeoJSON Point."""

    type: Literal["Point"]
    coordinates: Position
    bbox: Bbox | None = None


class ObservationPropertiesIn(StrictModel):
    """What an observation says; unknown properties are refused."""

    observed_at: UtcDatetime = Field(description="RFC 3339 with a timezone; stored as UTC.")
    intensity: Fraction = Field(description="Blight severity in [0, 1].")
    source: Source
    confidence: Fraction | None = None
    microbial_balance: Fraction | None = None
    tower_id: Annotated[str, StringConstraints(pattern=TOWER_ID_PATTERN)] | None = None
    tier: Annotated[int, Field(ge=0, le=200)] | None = None


class ObservationFeatureIn(StrictModel):
    """A GeoJSON Point Feature whose ``id`` is the client's idempotency key."""

    type: Literal["Feature"]
    id: ObservationId | Annotated[int, Field(ge=0)]
    geometry: PointIn
    properties: ObservationPropertiesIn
    bbox: Bbox | None = None

    def to_observation(self) -> Observation:
        """The domain object."""
        coords = self.geometry.coordinates
        p = self.properties
        return Observation(
            id=str(self.id),
            lon=coords[0],
            lat=coords[1],
            height_ellipsoid_m=coords[2] if len(coords) == 3 else None,
            observed_at=p.observed_at.astimezone(UTC),
            intensity=p.intensity,
            source=p.source,
            confidence=p.confidence,
            microbial_balance=p.microbial_balance,
            tower_id=p.tower_id,
            tier=p.tier,
        )


class ObservationCollectionIn(StrictModel):
    """Up to 10,000 observation features."""

    type: Literal["FeatureCollection"]
    features: list[ObservationFeatureIn] = Field(max_length=MAX_FEATURES_PER_REQUEST)
    bbox: Bbox | None = None


class IngestOut(BaseModel):
    """Outcome of ``POST /observations``: counted after the durable commit."""

    received: int = Field(description="Features in the request.")
    new: int = Field(description="Observations stored by this request.")
    known: int = Field(description="Ids already stored before (left untouched).")
    data_version: int
