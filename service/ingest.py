"""Accepting observations and towers: the checks that need the current tower layer.

Shared by the HTTP routers and the command line, so a file ingested with
``blightmap ingest`` obeys exactly the rules of ``POST /observations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from geo.errors import GeoError
from geo.layer import Tower
from geo.observations import Observation
from service.errors import FieldError, InvalidContent
from service.state import AppState, TowerLayer
from service.store import IngestResult

__all__ = ["accept_observations", "check_new_tower", "observation_errors"]

MAX_REPORTED_ERRORS = 50
#: Clock skew tolerated for ``observed_at`` in the future.
FUTURE_TOLERANCE = timedelta(minutes=5)


def observation_errors(
    layer: TowerLayer, observations: Sequence[Observation], prefix: str = "features"
) -> list[FieldError]:
    """Every reason to refuse the observations, each naming its feature."""
    errors: list[FieldError] = []
    latest_allowed = datetime.now(UTC) + FUTURE_TOLERANCE
    for i, obs in enumerate(observations):
        where = f"{prefix}.{i}"
        if obs.observed_at > latest_allowed:
            errors.append(
                FieldError(f"{where}.properties.observed_at", "is in the future (check the clock)")
            )
        try:
            layer.district.check_point(obs.lon, obs.lat, f"{where}.geometry.coordinates")
        except GeoError as exc:
            errors.append(FieldError(exc.field or where, exc.reason))
        if obs.tower_id is not None:
            tower = layer.index.get(obs.tower_id)
            if tower is None:
                errors.append(FieldError(f"{where}.properties.tower_id", "no tower with this id"))
            elif obs.tier is not None and obs.tier >= len(tower.tiers):
                errors.append(
                    FieldError(
                        f"{where}.properties.tier",
                        f"this tower has tiers 0 to {len(tower.tiers) - 1}",
                    )
                )
        elif obs.tier is not None:
            errors.append(FieldError(f"{where}.properties.tier", "a tier needs a tower_id"))
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    return errors


def accept_observations(state: AppState, observations: Sequence[Observation]) -> IngestResult:
    """Check every observation against the district, then store them all or none.

    Raises
    ------
    InvalidContent
        Listing each refused observation and why; nothing is stored.
    """
    errors = observation_errors(state.towers.current(), observations)
    if errors:
        more = "" if len(errors) < MAX_REPORTED_ERRORS else " (first 50 shown)"
        raise InvalidContent(
            f"{len(errors)} problem(s) in the observations{more}; nothing was stored", errors
        )
    return state.store.add_observations(observations)


def check_new_tower(state: AppState, tower: Tower) -> None:
    """Refuse a tower implausibly far from the existing district (swapped lon/lat...)."""
    district = state.towers.current().district
    if not district.is_empty:
        district.check_tower(
            tower.footprint_wgs84, "geometry", max_distance_m=state.settings.tower_max_distance_m
        )
