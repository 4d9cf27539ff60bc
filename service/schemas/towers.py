"""Request models for towers (OGC API - Features Part 4 style create/replace)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import shapely.geometry
from pydantic import Field, StringConstraints

from geo.errors import InvalidGeometry, InvalidTower
from geo.layer import TOWER_ID_PATTERN, Tier, Tower
from service.schemas.geojson import NO_NUL_PATTERN, Bbox, Position, StrictModel
from service.schemas.treatments import Rings

__all__ = ["TowerFeatureIn"]

TowerId = Annotated[str, StringConstraints(pattern=TOWER_ID_PATTERN)]
_SCALAR = (str, int, float, bool, type(None))
MAX_EXTRA_PROPERTIES = 100


class TierIn(StrictModel):
    """One tier: its level, its height above the tower base, its crop."""

    level: Annotated[int, Field(ge=0, le=200)]
    height_m: float
    crop: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL_PATTERN)] = ""


class TowerPropertiesIn(StrictModel):
    """Tower properties; other members are kept as the tower's extra properties."""

    model_config = StrictModel.model_config | {"extra": "allow"}

    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL_PATTERN)] = ""
    district: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL_PATTERN)] = ""
    base_height_m: float = Field(
        description="Ground at the tower's base above the WGS84 ellipsoid, metres (required; "
        "within base_height_tolerance_m, 200 m, of the EGM2008 geoid height there)."
    )
    height_m: float = Field(description="Total height above the base, metres.")
    tiers: list[TierIn] = Field(min_length=1, max_length=200)

    def extra_properties(self) -> dict[str, Any]:
        """Members beyond the fixed names (at most :data:`MAX_EXTRA_PROPERTIES`); only
        JSON scalars are accepted."""
        extra = dict(self.model_extra or {})
        if len(extra) > MAX_EXTRA_PROPERTIES:
            raise InvalidTower(
                f"at most {MAX_EXTRA_PROPERTIES} extra tower properties are kept", "properties"
            )
        for key, value in extra.items():
            if not isinstance(value, _SCALAR) or (isinstance(value, float) and value != value):
                raise InvalidTower(
                    "extra tower properties must be strings, numbers, booleans or null",
                    f"properties.{key}",
                )
        return extra


class GeometryIn(StrictModel):
    """A Point or a Polygon footprint."""

    type: Literal["Point", "Polygon"]
    coordinates: Position | Rings
    bbox: Bbox | None = None


class TowerFeatureIn(StrictModel):
    """A tower as a GeoJSON Feature whose ``id`` is the tower id."""

    type: Literal["Feature"]
    id: TowerId
    geometry: GeometryIn
    properties: TowerPropertiesIn
    bbox: Bbox | None = None

    def to_tower(self) -> Tower:
        """The domain object; raises :class:`geo.errors.GeoError` on inconsistent content.

        A Point is the tower's centre: the tower gets a circular footprint of
        :data:`geo.layer.DEFAULT_FOOTPRINT_RADIUS_M`, as the store keeps it, so the
        answer, the collection and the GeoPackage all hold Polygons.
        """
        geom_json = self.geometry.model_dump(exclude={"bbox"})
        shape_ok = (self.geometry.type == "Point") == (
            bool(geom_json["coordinates"]) and isinstance(geom_json["coordinates"][0], float)
        )
        if not shape_ok:
            raise InvalidGeometry(
                f"coordinates do not have the shape of a {self.geometry.type}",
                "geometry.coordinates",
            )
        try:
            footprint = shapely.geometry.shape(geom_json)
        except (ValueError, TypeError) as exc:
            raise InvalidGeometry(f"not a valid {self.geometry.type}: {exc}", "geometry") from None
        footprint = shapely.force_2d(footprint)
        p = self.properties
        return Tower(
            id=self.id,
            name=p.name,
            district=p.district,
            footprint_wgs84=footprint,
            base_height_m=p.base_height_m,
            height_m=p.height_m,
            tiers=tuple(Tier(t.level, t.height_m, t.crop) for t in p.tiers),
            extra=p.extra_properties(),
        ).with_polygon_footprint()
