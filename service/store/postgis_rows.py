"""Mapping between the domain types and the rows of the PostGIS store.

Geometries travel as WKB (``ST_GeomFromWKB``/``ST_AsBinary``), which keeps every
double; observation points are 2D with the height in ``height_ellipsoid_m``. Times are
``timestamptz`` at the stores' millisecond precision (truncated on the way in, as
:func:`geo.observations.format_utc` truncates), read back in UTC. ``tiers`` and
``extra`` are ``json`` (kept as written, so numbers round-trip exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import shapely

from geo.errors import GeoError
from geo.layer import Tower
from geo.observations import Observation, Source
from geo.treatments import Treatment
from service.store.base import AuditRecord, KeyRecord, StoreError
from service.store.rows import to_json, tower_from_values

__all__ = [
    "AUDIT_SELECT",
    "KEY_SELECT",
    "OBSERVATION_COLUMNS",
    "OBSERVATION_SELECT",
    "TOWER_SELECT",
    "TREATMENT_SELECT",
    "audit_from_row",
    "key_from_row",
    "key_to_row",
    "observation_copy_row",
    "observation_from_row",
    "to_millisecond",
    "tower_from_row",
    "tower_to_row",
    "treatment_from_row",
    "treatment_to_row",
]

TOWER_SELECT = (
    "SELECT tower_id, name, district, base_height_m, height_m, tiers::text, extra::text, "
    "ST_AsBinary(geom) FROM towers"
)
#: What :func:`observation_from_row` reads (also the RETURNING list of a deletion).
OBSERVATION_COLUMNS = (
    "o.obs_id, ST_X(o.geom), ST_Y(o.geom), o.observed_at, o.intensity, o.source, "
    "o.height_ellipsoid_m, o.confidence, o.microbial_balance, o.tower_id, o.tier"
)
OBSERVATION_SELECT = f"SELECT {OBSERVATION_COLUMNS} FROM observations AS o"
TREATMENT_SELECT = (
    "SELECT treatment_id, strain, dose_l_per_m2, applied_at, zone_id, notes, "
    "ST_AsBinary(geom) FROM treatments"
)
KEY_SELECT = "SELECT key_id, role, digest_hex, label, created_at, revoked, scopes FROM api_keys"
AUDIT_SELECT = "SELECT seq, at, key_id, action, target, detail FROM audit"


def to_millisecond(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to whole milliseconds (the stores' precision)."""
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)



def tower_to_row(tower: Tower) -> tuple[Any, ...]:
    """``(tower_id, name, district, base_height_m, height_m, tier_count, tiers, extra,
    wkb)`` of ``tower``; a Point footprint becomes its circle, always 2D.

    Raises
    ------
    StoreError
        If ``extra`` is not JSON-serializable.
    """
    footprint = tower.with_polygon_footprint().footprint_wgs84
    return (
        tower.id,
        tower.name,
        tower.district,
        float(tower.base_height_m),
        float(tower.height_m),
        len(tower.tiers),
        to_json([tier.to_dict() for tier in tower.tiers], "tiers"),
        to_json(dict(tower.extra), "extra"),
        shapely.to_wkb(footprint, output_dimension=2, byte_order=1),
    )


def tower_from_row(row: Sequence[Any]) -> Tower:
    """Rebuild a :class:`Tower` from a row of :data:`TOWER_SELECT`.

    Raises
    ------
    StoreError
        If the row was edited into something that is not a valid tower.
    """
    tower_id, name, district, base_height_m, height_m, tiers, extra, wkb = row
    return tower_from_values(
        tower_id, name, district, base_height_m, height_m, tiers, extra,
        lambda: shapely.from_wkb(bytes(wkb)),
    )


def observation_copy_row(
    index: int, observation: Observation, received_at: datetime, key_id: str | None
) -> tuple[Any, ...]:
    """One row of the batch's ``COPY`` into the staging table (its index first)."""
    o = observation
    return (
        index,
        o.id,
        float(o.lon),
        float(o.lat),
        to_millisecond(o.observed_at),
        o.intensity,
        o.source.value,
        o.confidence,
        o.microbial_balance,
        o.tower_id,
        o.tier,
        o.height_ellipsoid_m,
        received_at,
        key_id,
    )


def observation_from_row(row: Sequence[Any]) -> Observation:
    """Rebuild an :class:`Observation` from a row of :data:`OBSERVATION_SELECT`.

    Raises
    ------
    StoreError
        If a row is not readable (an unknown source...).
    """
    try:
        return Observation(
            id=row[0],
            lon=float(row[1]),
            lat=float(row[2]),
            observed_at=row[3].astimezone(UTC),
            intensity=row[4],
            source=Source(row[5]),
            height_ellipsoid_m=row[6],
            confidence=row[7],
            microbial_balance=row[8],
            tower_id=row[9],
            tier=row[10],
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise StoreError(f"stored observation {row[0]!r} is not readable: {exc}") from exc


def treatment_to_row(treatment: Treatment, recorded_at: datetime) -> tuple[Any, ...]:
    """``(treatment_id, strain, dose, applied_at, zone_id, notes, recorded_at, wkb)``."""
    return (
        treatment.id,
        treatment.strain,
        float(treatment.dose_l_per_m2),
        to_millisecond(treatment.applied_at),
        treatment.zone_id,
        treatment.notes,
        recorded_at,
        shapely.to_wkb(treatment.geometry_wgs84, output_dimension=2, byte_order=1),
    )


def treatment_from_row(row: Sequence[Any]) -> Treatment:
    """Rebuild a :class:`Treatment` from a row of :data:`TREATMENT_SELECT`."""
    treatment_id, strain, dose, applied_at, zone_id, notes, wkb = row
    try:
        return Treatment(
            id=treatment_id,
            geometry_wgs84=shapely.from_wkb(bytes(wkb)),
            strain=strain,
            dose_l_per_m2=dose,
            applied_at=applied_at.astimezone(UTC),
            zone_id=zone_id,
            notes=notes or "",
        )
    except (GeoError, ValueError, TypeError, shapely.errors.GEOSException) as exc:
        raise StoreError(f"stored treatment {treatment_id!r} is not readable: {exc}") from exc


def key_to_row(record: KeyRecord) -> tuple[Any, ...]:
    """``(key_id, role, digest_hex, label, created_at, revoked, scopes)``; scopes as
    JSON text, ``None`` when the key has none."""
    scopes: dict[str, list[str]] = {}
    if record.sources is not None:
        scopes["sources"] = list(record.sources)
    if record.tower_ids is not None:
        scopes["tower_ids"] = list(record.tower_ids)
    return (
        record.key_id,
        record.role,
        record.digest_hex,
        record.label,
        to_millisecond(record.created_at),
        record.revoked,
        to_json(scopes, "scopes") if scopes else None,
    )


def key_from_row(row: Sequence[Any]) -> KeyRecord:
    """Rebuild a :class:`KeyRecord` from a row of :data:`KEY_SELECT`."""
    key_id, role, digest_hex, label, created_at, revoked, scopes = row
    if scopes is not None and not isinstance(scopes, dict):
        raise StoreError(f"stored scopes of key {key_id!r} are not readable")
    sources = None if scopes is None else scopes.get("sources")
    tower_ids = None if scopes is None else scopes.get("tower_ids")
    return KeyRecord(
        key_id=key_id,
        role=role,
        digest_hex=digest_hex,
        created_at=created_at.astimezone(UTC),
        label=label or "",
        revoked=bool(revoked),
        sources=None if sources is None else tuple(str(s) for s in sources),
        tower_ids=None if tower_ids is None else tuple(str(t) for t in tower_ids),
    )


def audit_from_row(row: Sequence[Any]) -> AuditRecord:
    """Rebuild an :class:`AuditRecord` from a row of :data:`AUDIT_SELECT`."""
    seq, at, key_id, action, target, detail = row
    return AuditRecord(int(seq), at.astimezone(UTC), key_id, action, target, detail or {})
