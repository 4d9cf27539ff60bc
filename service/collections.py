"""The feature collections the service publishes, one provider class each (pygeoapi style).

A provider turns a parsed :class:`ItemsQuery` into GeoJSON features in CRS84; the
router adds links, CRS handling and serialization. Later collections (zones,
treatments) are new providers in :data:`PROVIDERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import shapely.geometry
from shapely.geometry import box

from geo.layer import Tower
from geo.observations import Observation, format_utc
from geo.treatments import EfficacyModel, Treatment, area_protection
from geo.zones import RemedyZone
from service.fields import FieldSnapshot
from service.forecast_fronts import front_features, parse_fronts_filter
from service.ogc import CRS84
from service.state import AppState
from service.store import ObservationQuery

__all__ = ["PROVIDERS", "CollectionProvider", "ItemsQuery"]

Feature = dict[str, Any]
EFFICACY = EfficacyModel()


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """Parsed, validated selection on a collection (bbox in CRS84)."""

    bbox_crs84: tuple[float, float, float, float] | None
    start: datetime | None
    end: datetime | None
    limit: int
    offset: int
    filters: dict[str, str]


class CollectionProvider(ABC):
    """One OGC API - Features collection."""

    id: str
    title: str
    description: str
    extra_params: tuple[str, ...] = ()
    temporal: bool = False
    #: The one GeoJSON geometry type of every feature (``geometryType`` in the metadata).
    geometry_type: str
    #: Whether items need the current field snapshot (awaited by the router first).
    needs_field: bool = False

    @abstractmethod
    def items(
        self, state: AppState, query: ItemsQuery, field: FieldSnapshot | None
    ) -> tuple[list[Feature], int]:
        """A page of features and the number matched."""

    @abstractmethod
    def item(self, state: AppState, feature_id: str, field: FieldSnapshot | None) -> Feature | None:
        """One feature or ``None``."""

    @abstractmethod
    def extent(self, state: AppState) -> dict[str, Any]:
        """The OGC extent object (spatial in CRS84, temporal when it applies)."""

    def listed(self, state: AppState) -> bool:
        """Whether ``/collections`` lists the collection now (its routes always answer)."""
        return True


def tower_feature(tower: Tower, field: FieldSnapshot | None = None) -> Feature:
    """A tower as a GeoJSON Feature; with a field, each tier carries its interpolated
    ``intensity`` and ``std_error`` and the tower its ``intensity_max``."""
    properties = tower.properties()
    if field is not None:
        worst = 0.0
        for tier in properties["tiers"]:
            value, se = field.tier_values.get((tower.id, tier["level"]), (None, None))
            if value is not None and se is not None:
                tier["intensity"], tier["std_error"] = round(value, 4), round(se, 4)
                worst = max(worst, value)
        properties["intensity_max"] = round(worst, 4)
        properties["field_version"] = field.data_version
    return {
        "type": "Feature",
        "id": tower.id,
        "geometry": shapely.geometry.mapping(tower.footprint_wgs84),
        "properties": properties,
    }


def observation_feature(obs: Observation) -> Feature:
    """An observation as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "id": obs.id,
        "geometry": {"type": "Point", "coordinates": obs.coordinates()},
        "properties": obs.properties(),
    }


def _spatial(bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
    full = [-180.0, -90.0, 180.0, 90.0]
    return {"bbox": [list(bbox) if bbox else full], "crs": CRS84}


def _temporal(first: datetime | None, last: datetime | None) -> dict[str, Any]:
    """The OGC temporal extent [first, last] (RFC 3339 UTC; open ends when empty)."""
    bounds = [None if t is None else format_utc(t) for t in (first, last)]
    return {"interval": [bounds], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}


class TowersProvider(CollectionProvider):
    """The farm towers, from the in-memory tower layer."""

    id = "towers"
    title = "Farm towers"
    description = (
        "Footprints, heights and tiers of the district's farm towers, with the latest "
        "interpolated blight intensity and standard error of every tier."
    )
    needs_field = True
    geometry_type = "Polygon"  # a tower posted as a Point gets a circular footprint

    def items(
        self, state: AppState, query: ItemsQuery, field: FieldSnapshot | None
    ) -> tuple[list[Feature], int]:
        index = state.towers.current().index
        towers = index.query_bbox(query.bbox_crs84) if query.bbox_crs84 else list(index.towers)
        page = towers[query.offset : query.offset + query.limit]
        return [tower_feature(t, field) for t in page], len(towers)

    def item(self, state: AppState, feature_id: str, field: FieldSnapshot | None) -> Feature | None:
        tower = state.towers.current().index.get(feature_id)
        return None if tower is None else tower_feature(tower, field)

    def extent(self, state: AppState) -> dict[str, Any]:
        district = state.towers.current().district
        return {"spatial": _spatial(None if district.is_empty else district.bbox_wgs84)}


class ObservationsProvider(CollectionProvider):
    """Plant-health observations, from the store."""

    id = "observations"
    title = "Observations"
    description = "Blight intensity reports from sensors, drones, people and the monitoring model."
    extra_params = ("tower_id",)
    temporal = True
    geometry_type = "Point"

    def items(
        self, state: AppState, query: ItemsQuery, field: FieldSnapshot | None
    ) -> tuple[list[Feature], int]:
        page = state.store.query_observations(
            ObservationQuery(
                bbox_wgs84=query.bbox_crs84,
                start=query.start,
                end=query.end,
                tower_id=query.filters.get("tower_id"),
                limit=query.limit,
                offset=query.offset,
            )
        )
        return [observation_feature(o) for o in page.items], page.number_matched

    def item(self, state: AppState, feature_id: str, field: FieldSnapshot | None) -> Feature | None:
        obs = state.store.get_observation(feature_id)
        return None if obs is None else observation_feature(obs)

    def extent(self, state: AppState) -> dict[str, Any]:
        district = state.towers.current().district
        span = state.store.observation_time_range()
        return {
            "spatial": _spatial(None if district.is_empty else district.bbox_wgs84),
            "temporal": _temporal(*(span or (None, None))),
        }


class ZonesProvider(CollectionProvider):
    """Remedy zones of the current field, ranked by priority (1 = treat first)."""

    id = "zones"
    title = "Remedy zones"
    description = (
        "Where to apply the microbial treatment, how much and in what order: contours of "
        "the current blight field by severity band, with towers, tiers and doses."
    )
    needs_field = True
    geometry_type = "Polygon"

    def items(
        self, state: AppState, query: ItemsQuery, field: FieldSnapshot | None
    ) -> tuple[list[Feature], int]:
        zones = list(field.zones) if field is not None else []
        if query.bbox_crs84 is not None:
            area = box(*query.bbox_crs84)
            zones = [z for z in zones if z.geometry_wgs84.intersects(area)]
        page = zones[query.offset : query.offset + query.limit]
        return _zone_features(state, page, field), len(zones)

    def item(self, state: AppState, feature_id: str, field: FieldSnapshot | None) -> Feature | None:
        zone = next((z for z in field.zones if z.id == feature_id), None) if field else None
        return None if zone is None else _zone_features(state, [zone], field)[0]

    def extent(self, state: AppState) -> dict[str, Any]:
        district = state.towers.current().district
        return {"spatial": _spatial(None if district.is_empty else district.bbox_wgs84)}


def _zone_features(
    state: AppState, zones: list[RemedyZone], field: FieldSnapshot | None
) -> list[Feature]:
    """Zone features with ``treated_protection``: how protected the zone's ground is now
    by the recorded treatments (0 untreated .. 1), and ``treated`` when it is at least half."""
    features = [z.to_feature() for z in zones]
    if field is None or not zones:
        return features
    protection = area_protection(
        [z.geometry_wgs84 for z in zones],
        state.store.list_treatments(),
        field.frame,
        datetime.now(UTC),
        EFFICACY,
    )
    for feature, value in zip(features, protection.tolist(), strict=True):
        feature["properties"].update(
            field_version=field.data_version,
            treated_protection=round(value, 4),
            treated=value >= 0.5,
        )
    return features


def treatment_feature(treatment: Treatment, at: datetime | None = None) -> Feature:
    """A treatment as a GeoJSON Feature with its expected ``protection`` now (0..1)."""
    feature = treatment.to_feature()
    moment = at or datetime.now(UTC)
    feature["properties"]["protection"] = round(EFFICACY.treatment_protection(treatment, moment), 4)
    feature["properties"]["active"] = feature["properties"]["protection"] >= 0.05
    return feature


class TreatmentsProvider(CollectionProvider):
    """Treatments planners recorded, with their expected protection today."""

    id = "treatments"
    title = "Treatments"
    description = (
        "Microbial treatments applied (area, strain, dose, time) with their expected "
        "protection now: efficacy saturating with dose, decaying with a half-life."
    )
    temporal = True
    geometry_type = "MultiPolygon"  # a treatment posted as a Polygon is kept as one part

    def items(
        self, state: AppState, query: ItemsQuery, field: FieldSnapshot | None
    ) -> tuple[list[Feature], int]:
        chosen = [t for t in state.store.list_treatments() if _treatment_matches(t, query)]
        page = chosen[query.offset : query.offset + query.limit]
        return [treatment_feature(t) for t in page], len(chosen)

    def item(self, state: AppState, feature_id: str, field: FieldSnapshot | None) -> Feature | None:
        treatment = state.store.get_treatment(feature_id)
        return None if treatment is None else treatment_feature(treatment)

    def extent(self, state: AppState) -> dict[str, Any]:
        district = state.towers.current().district
        times = [t.applied_at for t in state.store.list_treatments()]
        return {
            "spatial": _spatial(None if district.is_empty else district.bbox_wgs84),
            "temporal": _temporal(min(times, default=None), max(times, default=None)),
        }


def _treatment_matches(treatment: Treatment, query: ItemsQuery) -> bool:
    if query.bbox_crs84 is not None and not treatment.geometry_wgs84.intersects(
        box(*query.bbox_crs84)
    ):
        return False
    if query.start is not None and treatment.applied_at < query.start:
        return False
    return not (query.end is not None and treatment.applied_at > query.end)


class ForecastFrontsProvider(CollectionProvider):
    """The fronts of the latest finished forecast (``POST /forecasts``), read from the
    data directory (:mod:`service.forecast_fronts`): 50 % and 90 % per day."""

    id = "forecast-fronts"
    title = "Forecast fronts"
    description = (
        "Where the latest finished spread forecast gives blight a probability of at least "
        "50 % or 90 %, per forecast day; filter with day=<n> and level=<0.5|0.9>."
    )
    extra_params = ("day", "level")
    geometry_type = "MultiPolygon"

    def items(
        self, state: AppState, query: ItemsQuery, field: FieldSnapshot | None
    ) -> tuple[list[Feature], int]:
        selection = parse_fronts_filter(query.filters)
        fronts = front_features(state.settings.data_dir, selection, query.bbox_crs84)
        return fronts[query.offset : query.offset + query.limit], len(fronts)

    def item(self, state: AppState, feature_id: str, field: FieldSnapshot | None) -> Feature | None:
        fronts = front_features(state.settings.data_dir)
        return next((f for f in fronts if f["id"] == feature_id), None)

    def extent(self, state: AppState) -> dict[str, Any]:
        district = state.towers.current().district
        return {"spatial": _spatial(None if district.is_empty else district.bbox_wgs84)}

    def listed(self, state: AppState) -> bool:
        """Listed once a finished forecast has fronts (an empty collection is not offered)."""
        return bool(front_features(state.settings.data_dir))


PROVIDERS: dict[str, CollectionProvider] = {
    p.id: p
    for p in (
        TowersProvider(),
        ObservationsProvider(),
        ZonesProvider(),
        TreatmentsProvider(),
        ForecastFrontsProvider(),
    )
}
