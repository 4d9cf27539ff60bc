"""Shared GeoJSON (RFC 7946) building blocks for request models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "MAX_HEIGHT_M",
    "MAX_RINGS",
    "MAX_RING_POSITIONS",
    "MIN_HEIGHT_M",
    "NO_NUL_PATTERN",
    "Bbox",
    "Position",
    "StrictModel",
    "check_position",
]

#: Plausible heights above the WGS84 ellipsoid of a position's third number, metres
#: (the Dead Sea shore is about -430 m, Everest's summit 8,849 m), as for tower bases.
MIN_HEIGHT_M = -500.0
MAX_HEIGHT_M = 9000.0
#: Most positions in one linear ring, and most rings in one polygon (or polygons in a
#: multipolygon): a footprint or a sprayed area never needs more.
MAX_RING_POSITIONS = 10_000
MAX_RINGS = 100
#: Free text (names, labels, notes): anything but the NUL character, which PostgreSQL's
#: text cannot hold, so both stores take exactly the same text (a 422 otherwise).
NO_NUL_PATTERN = r"^[^\x00]*$"


class StrictModel(BaseModel):
    """Unknown members are errors; NaN and Infinity are refused everywhere."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    # Declared only to refuse it with a reason better than "unknown property". (A
    # model-level "before" validator would do, but it makes pydantic validate the rest
    # in Python mode, where strict mode refuses RFC 3339 strings for datetimes.)
    crs: SkipJsonSchema[Any] = Field(None, exclude=True)

    @field_validator("crs", mode="before")
    @classmethod
    def _no_crs_member(cls, value: Any) -> Any:
        raise ValueError("not allowed: RFC 7946 GeoJSON is always WGS84 lon/lat (EPSG:4326)")


def check_position(position: list[float]) -> list[float]:
    """A GeoJSON position ``[lon, lat]`` or ``[lon, lat, height_m]`` within WGS84 ranges."""
    if not 2 <= len(position) <= 3:
        raise ValueError("a position has 2 or 3 numbers: [lon, lat] or [lon, lat, height_m]")
    lon, lat = position[0], position[1]
    if not -180.0 <= lon <= 180.0:
        raise ValueError("longitude (first number) must be within [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        hint = " (are longitude and latitude swapped?)" if -90 <= lon <= 90 else ""
        raise ValueError(f"latitude (second number) must be within [-90, 90]{hint}")
    if len(position) == 3 and not MIN_HEIGHT_M <= position[2] <= MAX_HEIGHT_M:
        raise ValueError(
            f"height (third number) must be within [{MIN_HEIGHT_M:g}, {MAX_HEIGHT_M:g}] m "
            "above the WGS84 ellipsoid"
        )
    return position


Position = Annotated[list[float], Field(min_length=2, max_length=3), AfterValidator(check_position)]
Bbox = Annotated[list[float], Field(min_length=4, max_length=6)]
"""A GeoJSON ``bbox`` member: 4 numbers (2D) or 6 (3D); longer arrays are refused."""
