"""Mapping between the domain types and the rows of the blightmap GeoPackage.

Towers round-trip exactly: the footprint as a 2D GeoPackage geometry blob (ISO WKB
keeps every double), tiers and extra as JSON text. Observations keep lon/lat in the
geometry (``POINT Z`` when a height was given), ``observed_at`` as fixed-width
``YYYY-MM-DDTHH:MM:SS.sssZ`` text, which sorts chronologically; the store keeps
millisecond precision, as :func:`geo.observations.format_utc` does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from geo.errors import GeoError
from geo.layer import Tower, point_footprint
from geo.observations import Observation, Source, format_utc, parse_utc
from geo.treatments import Treatment
from service.store.base import KeyRecord, StoreError
from service.store.gpkg_geometry import (
    decode_geometry,
    decode_points,
    encode_geometry,
    encode_points,
)
from service.store.gpkg_schema import SRS_ID
from service.store.rows import to_json, tower_from_values

__all__ = [
    "KEY_COLUMNS",
    "OBSERVATION_COLUMNS",
    "OBSERVATION_WRITE_COLUMNS",
    "TOWER_COLUMNS",
    "TREATMENT_COLUMNS",
    "key_from_row",
    "key_to_row",
    "observation_rows",
    "observations_from_rows",
    "polygon_tower_footprints",
    "tower_from_row",
    "tower_to_row",
    "treatment_from_row",
    "treatment_to_row",
]

TOWER_COLUMNS = (
    "tower_id",
    "name",
    "district",
    "base_height_m",
    "height_m",
    "tier_count",
    "tiers",
    "extra",
    "geom",
)
OBSERVATION_COLUMNS = (
    "obs_id",
    "observed_at",
    "intensity",
    "source",
    "confidence",
    "microbial_balance",
    "tower_id",
    "tier",
    "height_ellipsoid_m",
    "received_at",
    "geom",
)
#: What :func:`observation_rows` returns: the columns read back, and the writer's key id.
OBSERVATION_WRITE_COLUMNS = (*OBSERVATION_COLUMNS, "key_id")
TREATMENT_COLUMNS = (
    "treatment_id",
    "strain",
    "dose_l_per_m2",
    "applied_at",
    "zone_id",
    "notes",
    "recorded_at",
    "geom",
)
KEY_COLUMNS = ("key_id", "role", "digest_hex", "label", "created_at", "revoked", "scopes")



def tower_to_row(tower: Tower) -> tuple[Any, ...]:
    """The values of :data:`TOWER_COLUMNS` for ``tower``.

    The footprint is written 2D (the layer declares z=0) and as a Polygon (the layer
    declares POLYGON): a Point footprint becomes the circle of
    :meth:`geo.layer.Tower.with_polygon_footprint`.

    Raises
    ------
    StoreError
        If ``extra`` is not JSON-serializable.
    """
    return (
        tower.id,
        tower.name,
        tower.district,
        float(tower.base_height_m),
        float(tower.height_m),
        len(tower.tiers),
        to_json([tier.to_dict() for tier in tower.tiers], "tiers"),
        to_json(dict(tower.extra), "extra"),
        encode_geometry(tower.with_polygon_footprint().footprint_wgs84, SRS_ID, output_dimension=2),
    )


def polygon_tower_footprints(connection: sqlite3.Connection) -> int:
    """Rewrite the Point footprints an older store holds as circles
    (:func:`geo.layer.point_footprint`), so the towers layer is POLYGON only.

    Runs inside the caller's write transaction; returns how many rows changed.
    """
    changed = 0
    for fid, blob in connection.execute("SELECT fid, geom FROM towers").fetchall():
        footprint = decode_geometry(blob)
        if footprint.geom_type == "Point":
            polygon = encode_geometry(point_footprint(footprint), SRS_ID, output_dimension=2)
            connection.execute("UPDATE towers SET geom = ? WHERE fid = ?", (polygon, fid))
            changed += 1
    return changed


def tower_from_row(row: Sequence[Any]) -> Tower:
    """Rebuild a :class:`Tower` from the values of :data:`TOWER_COLUMNS`.

    Raises
    ------
    StoreError
        If the row was edited into something that is not a valid tower.
    """
    tower_id, name, district, base_height_m, height_m, _, tiers, extra, geom = row
    return tower_from_values(
        tower_id, name, district, base_height_m, height_m, tiers, extra,
        lambda: decode_geometry(geom),
    )


def observation_rows(
    observations: Sequence[Observation], received_at: str, key_id: str | None = None
) -> list[tuple[Any, ...]]:
    """The values of :data:`OBSERVATION_WRITE_COLUMNS` for each observation.

    Geometries are encoded in one vectorized pass.
    """
    heights = [o.height_ellipsoid_m for o in observations]
    blobs = encode_points(
        [o.lon for o in observations], [o.lat for o in observations], heights, SRS_ID
    )
    return [
        (
            o.id,
            format_utc(o.observed_at),
            o.intensity,
            o.source.value,
            o.confidence,
            o.microbial_balance,
            o.tower_id,
            o.tier,
            o.height_ellipsoid_m,
            received_at,
            blob,
            key_id,
        )
        for o, blob in zip(observations, blobs, strict=True)
    ]


def observations_from_rows(rows: Sequence[Sequence[Any]]) -> list[Observation]:
    """Rebuild observations from rows of :data:`OBSERVATION_COLUMNS`.

    Raises
    ------
    StoreError
        If a row is not readable (an edited geometry, an unknown source...).
    """
    try:
        xs, ys, _ = decode_points([row[10] for row in rows])
        return [
            Observation(
                id=row[0],
                lon=float(x),
                lat=float(y),
                observed_at=parse_utc(row[1]),
                intensity=row[2],
                source=Source(row[3]),
                confidence=row[4],
                microbial_balance=row[5],
                tower_id=row[6],
                tier=row[7],
                height_ellipsoid_m=row[8],
            )
            for row, x, y in zip(rows, xs.tolist(), ys.tolist(), strict=True)
        ]
    except (ValueError, TypeError) as exc:
        raise StoreError(f"stored observation is not readable: {exc}") from exc


def key_to_row(record: KeyRecord) -> tuple[Any, ...]:
    """The values of :data:`KEY_COLUMNS` for ``record``; scopes as JSON (NULL: none)."""
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
        format_utc(record.created_at),
        int(record.revoked),
        to_json(scopes, "scopes") if scopes else None,
    )


def key_from_row(row: Sequence[Any]) -> KeyRecord:
    """Rebuild a :class:`KeyRecord` from the values of :data:`KEY_COLUMNS`."""
    key_id, role, digest_hex, label, created_at, revoked, scopes_text = row
    try:
        scopes = json.loads(scopes_text) if scopes_text else {}
        sources, tower_ids = scopes.get("sources"), scopes.get("tower_ids")
    except (ValueError, AttributeError) as exc:
        raise StoreError(f"stored scopes of key {key_id!r} are not readable") from exc
    return KeyRecord(
        key_id=key_id,
        role=role,
        digest_hex=digest_hex,
        created_at=_parse(created_at),
        label=label or "",
        revoked=bool(revoked),
        sources=None if sources is None else tuple(str(s) for s in sources),
        tower_ids=None if tower_ids is None else tuple(str(t) for t in tower_ids),
    )


def _parse(text: str) -> datetime:
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise StoreError(f"stored timestamp {text!r} is not readable") from exc


def treatment_to_row(treatment: Treatment, recorded_at: str) -> tuple[Any, ...]:
    """The values of :data:`TREATMENT_COLUMNS` (the area is always a MultiPolygon)."""
    return (
        treatment.id,
        treatment.strain,
        float(treatment.dose_l_per_m2),
        format_utc(treatment.applied_at),
        treatment.zone_id,
        treatment.notes,
        recorded_at,
        encode_geometry(treatment.geometry_wgs84, SRS_ID, output_dimension=2),
    )


def treatment_from_row(row: Sequence[Any]) -> Treatment:
    """Rebuild a :class:`Treatment` from the values of :data:`TREATMENT_COLUMNS`."""
    treatment_id, strain, dose, applied_at, zone_id, notes, _, geom = row
    try:
        return Treatment(
            id=treatment_id,
            geometry_wgs84=decode_geometry(geom),
            strain=strain,
            dose_l_per_m2=dose,
            applied_at=_parse(applied_at),
            zone_id=zone_id,
            notes=notes or "",
        )
    except (GeoError, ValueError, TypeError) as exc:
        raise StoreError(f"stored treatment {treatment_id!r} is not readable: {exc}") from exc
