"""The feature collections the service publishes, one provider class each (pygeoapi style).

A provider turns a parsed :class:`ItemsQuery` into GeoJSON features in CRS84; the
router adds links, CRS handling and serialization. Later collections (zones,
treatments) are new providers in :data:`PROVIDERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely.geometry

from geo.layer import Tower
from geo.observations import Observation
from service.ogc import CRS84
from service.state import AppState
from service.store import ObservationQuery

__all__ = ["PROVIDERS", "CollectionProvider", "ItemsQuery"]

Feature = dict[str, Any]


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

    @abstractmethod
    def items(self, state: AppState, query: ItemsQuery) -> tuple[list[Feature], int]:
        """A page of features and the number matched."""

    @abstractmethod
    def item(self, state: AppState, feature_id: str) -> Feature | None:
        """One feature or ``None``."""

    @abstractmethod
    def extent(self, state: AppState) -> dict[str, Any]:
        """The OGC extent object (spatial in CRS84, temporal when it applies)."""


def tower_feature(tower: Tower) -> Feature:
    """A tower as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "id": tower.id,
        "geometry": shapely.geometry.mapping(tower.footprint_wgs84),
        "properties": tower.properties(),
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


class TowersProvider(CollectionProvider):
    """The farm towers, from the in-memory tower layer."""

    id = "towers"
    title = "Farm towers"
    description = "Footprints, heights and tiers of the district's farm towers."

    def items(self, state: AppState, query: ItemsQuery) -> tuple[list[Feature], int]:
        index = state.towers.current().index
        towers = index.query_bbox(query.bbox_crs84) if query.bbox_crs84 else list(index.towers)
        page = towers[query.offset : query.offset + query.limit]
        return [tower_feature(t) for t in page], len(towers)

    def item(self, state: AppState, feature_id: str) -> Feature | None:
        tower = state.towers.current().index.get(feature_id)
        return None if tower is None else tower_feature(tower)

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

    def items(self, state: AppState, query: ItemsQuery) -> tuple[list[Feature], int]:
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

    def item(self, state: AppState, feature_id: str) -> Feature | None:
        obs = state.store.get_observation(feature_id)
        return None if obs is None else observation_feature(obs)

    def extent(self, state: AppState) -> dict[str, Any]:
        district = state.towers.current().district
        return {
            "spatial": _spatial(None if district.is_empty else district.bbox_wgs84),
            "temporal": {
                "interval": [[None, None]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            },
        }


PROVIDERS: dict[str, CollectionProvider] = {
    p.id: p for p in (TowersProvider(), ObservationsProvider())
}
