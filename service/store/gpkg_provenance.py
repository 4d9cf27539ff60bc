"""Provenance in the GeoPackage: conflicting re-sends, the writer of a row, the audit log.

Every feature row carries the ``key_id`` of the API key that wrote it (NULL for the
command line, the demo, and rows older than schema 4). Deletions are recorded in
``blightmap_audit`` with who, when and what (the deleted feature; for observations
also its digest).
The functions run on a connection inside the store's transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shapely.geometry import mapping

from geo.layer import Tower
from geo.observations import Observation, format_utc, observation_digest, parse_utc
from service.store.base import AuditRecord, ConflictingObservations, NotFound
from service.store.gpkg_rows import OBSERVATION_COLUMNS, observations_from_rows

__all__ = [
    "check_known",
    "observation_feature",
    "read_audit",
    "read_writer",
    "tower_feature",
    "write_audit",
]

_ID_COLUMNS = {"towers": "tower_id", "observations": "obs_id", "treatments": "treatment_id"}
# Ids per statement when reading back a batch (SQLite allows 32766 variables).
_IDS_PER_SELECT = 5000
_SELECT = f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations"


def check_known(connection: sqlite3.Connection, batch: Sequence[Observation]) -> None:
    """Raise :class:`ConflictingObservations` if a batch id is stored with other content.

    Runs after the batch's ``INSERT ... ON CONFLICT DO NOTHING``, so each id's row is
    either the batch's first occurrence or an older one; comparing every occurrence
    with it catches conflicts with the store and within the batch alike.
    """
    ids = list(dict.fromkeys(o.id for o in batch))
    stored: dict[str, str] = {}
    for start in range(0, len(ids), _IDS_PER_SELECT):
        chunk = ids[start : start + _IDS_PER_SELECT]
        rows = connection.execute(
            f"{_SELECT} WHERE obs_id IN ({', '.join('?' * len(chunk))})", chunk
        ).fetchall()
        stored.update((o.id, observation_digest(o)) for o in observations_from_rows(rows))
    conflicts = [
        (i, stored[o.id]) for i, o in enumerate(batch) if observation_digest(o) != stored[o.id]
    ]
    if conflicts:
        raise ConflictingObservations(conflicts)


def observation_feature(observation: Observation) -> dict[str, Any]:
    """The GeoJSON Feature of an observation, as kept in an audit record."""
    return {
        "type": "Feature",
        "id": observation.id,
        "geometry": {"type": "Point", "coordinates": observation.coordinates()},
        "properties": observation.properties(),
    }


def tower_feature(tower: Tower) -> dict[str, Any]:
    """The GeoJSON Feature of a tower, as kept in an audit record."""
    return {
        "type": "Feature",
        "id": tower.id,
        "geometry": mapping(tower.footprint_wgs84),
        "properties": tower.properties(),
    }


def write_audit(
    connection: sqlite3.Connection,
    key_id: str | None,
    action: str,
    target: str,
    detail: dict[str, Any],
) -> None:
    """Append one audit record, stamped with the current time."""
    connection.execute(
        "INSERT INTO blightmap_audit (at, key_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (format_utc(datetime.now(UTC)), key_id, action, target, json.dumps(detail)),
    )


def read_audit(connection: sqlite3.Connection, limit: int) -> list[AuditRecord]:
    """The newest ``limit`` audit records, newest first."""
    rows = connection.execute(
        "SELECT seq, at, key_id, action, target, detail FROM blightmap_audit "
        "ORDER BY seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        AuditRecord(seq, parse_utc(at), key_id, action, target, json.loads(detail or "{}"))
        for seq, at, key_id, action, target, detail in rows
    ]


def read_writer(connection: sqlite3.Connection, layer: str, feature_id: str) -> str | None:
    """``key_id`` recorded with a row of ``towers``, ``observations`` or ``treatments``.

    Raises
    ------
    NotFound
        If the layer has no such row.
    ValueError
        If ``layer`` is not one of the three.
    """
    id_column = _ID_COLUMNS.get(layer)
    if id_column is None:
        raise ValueError(f"no provenance for layer {layer!r}")
    row = connection.execute(
        f"SELECT key_id FROM {layer} WHERE {id_column} = ?", (feature_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"{layer} has no {feature_id!r}")
    return None if row[0] is None else str(row[0])
