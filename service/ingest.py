"""Accepting observations and towers: the checks that need the current tower layer.

Shared by the HTTP routers and the command line, so a file ingested with
``blightmap ingest`` obeys exactly the rules of ``POST /observations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ar_assets.geoid import check_ground_height
from geo.district import District
from geo.errors import GeoError, OutsideDistrict
from geo.layer import Tower
from geo.observations import Observation
from service.auth import scope_errors
from service.errors import Conflict, FieldError, Forbidden, InvalidContent
from service.settings import Settings
from service.state import AppState, TowerLayer
from service.store import ConflictingObservations, IngestResult, KeyRecord

__all__ = [
    "accept_observations",
    "check_import_heights",
    "check_import_span",
    "check_new_tower",
    "check_plausible_time",
    "observation_errors",
    "time_error",
]

MAX_REPORTED_ERRORS = 50


def time_error(settings: Settings, moment: datetime, field: str) -> FieldError | None:
    """Why ``moment`` is not a plausible time for stored data, or ``None`` if it is.

    Plausible: not before ``settings.earliest_time_utc`` and not more than
    ``settings.future_tolerance_s`` ahead of this machine's clock.
    """
    earliest = settings.earliest_time_utc
    if moment < earliest:
        return FieldError(field, f"is before the earliest accepted time {earliest.isoformat()}")
    if moment > datetime.now(UTC) + timedelta(seconds=settings.future_tolerance_s):
        return FieldError(field, "is in the future (check the clock)")
    return None


def check_plausible_time(settings: Settings, moment: datetime, field: str) -> None:
    """Raise :class:`InvalidContent` naming ``field`` if :func:`time_error` finds a reason."""
    error = time_error(settings, moment, field)
    if error is not None:
        raise InvalidContent(f"{field} {error.reason}", [error])


def observation_errors(
    settings: Settings,
    layer: TowerLayer,
    observations: Sequence[Observation],
    prefix: str = "features",
) -> list[FieldError]:
    """Every reason to refuse the observations, each naming its feature."""
    errors: list[FieldError] = []
    for i, obs in enumerate(observations):
        where = f"{prefix}.{i}"
        late = time_error(settings, obs.observed_at, f"{where}.properties.observed_at")
        if late is not None:
            errors.append(late)
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


def accept_observations(
    state: AppState, observations: Sequence[Observation], key: KeyRecord | None = None
) -> IngestResult:
    """Check the observations against the key's scopes and the district, then store
    them all or none, recording ``key`` as their writer.

    Raises
    ------
    Forbidden
        Naming each observation outside the key's scopes; nothing is stored.
    InvalidContent
        Listing each refused observation and why; nothing is stored.
    Conflict
        Naming each id already stored with other content and that content's digest.
    """
    outside = scope_errors(key, observations)
    if outside:
        raise Forbidden(
            f"{len(outside)} observation(s) outside this key's scopes; nothing was stored",
            [FieldError(field, reason) for field, reason in outside[:MAX_REPORTED_ERRORS]],
        )
    errors = observation_errors(state.settings, state.towers.current(), observations)
    if errors:
        more = "" if len(errors) < MAX_REPORTED_ERRORS else " (first 50 shown)"
        raise InvalidContent(
            f"{len(errors)} problem(s) in the observations{more}; nothing was stored", errors
        )
    try:
        return state.store.add_observations(observations, None if key is None else key.key_id)
    except ConflictingObservations as exc:
        raise Conflict(
            f"{len(exc.conflicts)} id(s) already stored with other content; nothing was "
            "stored (resend the stored content, or use a new id)",
            [
                FieldError(f"features.{i}.id", f"already stored with other content ({digest})")
                for i, digest in exc.conflicts[:MAX_REPORTED_ERRORS]
            ],
        ) from None


def check_new_tower(state: AppState, tower: Tower) -> None:
    """Refuse a tower implausibly far from the existing district (swapped lon/lat...),
    one that would stretch it beyond ``district_max_span_m``, or one whose
    ``base_height_m`` is more than ``base_height_tolerance_m`` from the geoid."""
    check_ground_height(
        *tower.centroid_lonlat, tower.base_height_m, state.settings.base_height_tolerance_m
    )
    district = state.towers.current().district
    if not district.is_empty:
        district.check_tower(
            tower.footprint_wgs84,
            "geometry",
            max_distance_m=state.settings.tower_max_distance_m,
            max_span_m=state.settings.district_max_span_m,
        )


def check_import_heights(settings: Settings, imported: Sequence[Tower]) -> None:
    """Refuse an import with a ``base_height_m`` more than ``base_height_tolerance_m``
    from the EGM2008 geoid at its tower (an :class:`~geo.errors.InvalidTower` naming
    ``rows.<i>.base_height_m``)."""
    for i, tower in enumerate(imported):
        check_ground_height(
            *tower.centroid_lonlat,
            tower.base_height_m,
            settings.base_height_tolerance_m,
            f"rows.{i}.base_height_m",
        )


def check_import_span(
    settings: Settings, stored: Sequence[Tower], imported: Sequence[Tower]
) -> None:
    """Refuse an import that would stretch the district beyond ``district_max_span_m``.

    ``imported`` replaces stored towers of the same id. An import that does not widen
    an already wider district is accepted.

    Raises
    ------
    OutsideDistrict
        Naming the span the district would have.
    """
    limit_m = settings.district_max_span_m
    merged = {t.id: t for t in stored} | {t.id: t for t in imported}
    after_m = District.from_towers(list(merged.values())).span_m()
    if after_m > limit_m and after_m > District.from_towers(stored).span_m():
        raise OutsideDistrict(
            f"would stretch the district to {after_m / 1000:.1f} km across; at most "
            f"{limit_m / 1000:.1f} km is accepted (setting district_max_span_m)",
            "towers",
        )
