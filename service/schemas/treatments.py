"""Request model for recording a treatment."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Literal

import shapely.geometry
from pydantic import Field, StringConstraints

from geo.errors import InvalidGeometry
from geo.treatments import MAX_DOSE_L_PER_M2, Treatment
from service.schemas.geojson import (
    MAX_RING_POSITIONS,
    MAX_RINGS,
    NO_NUL_PATTERN,
    Bbox,
    Position,
    StrictModel,
)
from service.schemas.times import UtcDatetime

__all__ = ["TreatmentFeatureIn"]

Ring = Annotated[list[Position], Field(min_length=4, max_length=MAX_RING_POSITIONS)]
Rings = Annotated[list[Ring], Field(min_length=1, max_length=MAX_RINGS)]


class AreaIn(StrictModel):
    """A Polygon or MultiPolygon in lon/lat."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: Rings | Annotated[list[Rings], Field(min_length=1, max_length=MAX_RINGS)]
    bbox: Bbox | None = None


class TreatmentPropertiesIn(StrictModel):
    """What was applied, where and when."""

    strain: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL_PATTERN)]
    dose_l_per_m2: float = Field(gt=0, le=MAX_DOSE_L_PER_M2, description="Litres per m².")
    applied_at: UtcDatetime
    zone_id: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL_PATTERN)] | None = None
    notes: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL_PATTERN)] = ""


class TreatmentFeatureIn(StrictModel):
    """A treatment as a GeoJSON Feature; ``geometry`` may be null when ``zone_id``
    names a current remedy zone, whose polygon is then used."""

    type: Literal["Feature"]
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    geometry: AreaIn | None
    properties: TreatmentPropertiesIn
    bbox: Bbox | None = None

    def to_treatment(self, zone_area: shapely.geometry.base.BaseGeometry | None) -> Treatment:
        """The domain object; ``zone_area`` stands in for a null geometry."""
        if self.geometry is not None:
            try:
                area = shapely.geometry.shape(self.geometry.model_dump(exclude={"bbox"}))
            except (ValueError, TypeError) as exc:
                raise InvalidGeometry(
                    f"not a valid {self.geometry.type}: {exc}", "geometry"
                ) from None
            area = shapely.force_2d(area)
        elif zone_area is not None:
            area = zone_area
        else:
            raise InvalidGeometry(
                "give a Polygon, or null with the zone_id of a current remedy zone", "geometry"
            )
        p = self.properties
        return Treatment(
            id=self.id,
            geometry_wgs84=area,
            strain=p.strain,
            dose_l_per_m2=p.dose_l_per_m2,
            applied_at=p.applied_at.astimezone(UTC),
            zone_id=p.zone_id,
            notes=p.notes,
        )
