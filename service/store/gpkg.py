"""The embedded store: one OGC GeoPackage 1.3 file that GDAL and QGIS open directly.

Layout (see :mod:`service.store.gpkg_schema`): the feature layers ``towers`` and
``observations`` with rtree spatial indexes, and the non-spatial tables
``blightmap_keys`` and ``blightmap_meta`` (which holds ``data_version``).

Concurrency and durability (see :mod:`service.store.gpkg_connections`): one writer
connection behind a lock; every write method is one short ``BEGIN IMMEDIATE`` ...
``COMMIT`` transaction with ``synchronous=FULL``, so it returns only once its data is
durable, and an exception rolls everything back. Readers use one read-only connection
per thread and, in WAL mode, never block the writer nor wait for it; GDAL and QGIS in
other processes read the live file the same way.

Do not open the live file with GDAL (pyogrio, fiona, rasterio) *inside* the process
that holds the store: GDAL bundles its own SQLite, which then deletes the WAL under
the store's feet. The store detects that and refuses further work until reopened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from geo.layer import Tower
from geo.observations import Observation, format_utc, observation_digest, parse_utc
from geo.treatments import Treatment
from service.store.base import (
    AlreadyExists,
    AuditRecord,
    IngestResult,
    KeyRecord,
    NotFound,
    ObservationPage,
    ObservationQuery,
    Store,
)
from service.store.gpkg_connections import Connections
from service.store.gpkg_provenance import (
    check_known,
    observation_feature,
    read_audit,
    read_writer,
    tower_feature,
    write_audit,
)
from service.store.gpkg_rows import (
    KEY_COLUMNS,
    OBSERVATION_COLUMNS,
    OBSERVATION_WRITE_COLUMNS,
    TOWER_COLUMNS,
    TREATMENT_COLUMNS,
    key_from_row,
    key_to_row,
    observation_rows,
    observations_from_rows,
    tower_from_row,
    tower_to_row,
    treatment_from_row,
    treatment_to_row,
)

__all__ = ["GeoPackageStore"]

# Every feature row also records the key_id of its writer (provenance), written
# with the row but not part of its content (replacing a tower by an identical one
# changes nothing, whoever sends it).
_TOWER_SELECT = f"SELECT {', '.join(TOWER_COLUMNS)} FROM towers"
_TOWER_INSERT = (
    f"INSERT INTO towers ({', '.join(TOWER_COLUMNS)}, key_id) "
    f"VALUES ({', '.join('?' * (len(TOWER_COLUMNS) + 1))})"
)
_TOWER_UPDATE = (
    f"UPDATE towers SET {', '.join(f'{c} = ?' for c in TOWER_COLUMNS[1:])}, key_id = ? "
    "WHERE tower_id = ?"
)
_OBSERVATION_SELECT = f"SELECT {', '.join(f'o.{c}' for c in OBSERVATION_COLUMNS)}"
_OBSERVATION_INSERT = (
    f"INSERT INTO observations ({', '.join(OBSERVATION_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(OBSERVATION_WRITE_COLUMNS))}) "
    "ON CONFLICT (obs_id) DO NOTHING"
)
_TREATMENT_SELECT = f"SELECT {', '.join(TREATMENT_COLUMNS)} FROM treatments"
_TREATMENT_INSERT = (
    f"INSERT INTO treatments ({', '.join(TREATMENT_COLUMNS)}, key_id) "
    f"VALUES ({', '.join('?' * (len(TREATMENT_COLUMNS) + 1))})"
)

_KEY_SELECT = f"SELECT {', '.join(KEY_COLUMNS)} FROM blightmap_keys"
_NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

# Rows whose rtree box (float32, rounded outwards) lies inside the query box match
# without further work; the others, near an edge, are checked on the exact geometry.
_BBOX_JOIN = "JOIN rtree_observations_geom AS r ON r.id = o.fid"
_BBOX_WHERE = (
    "r.minx <= :maxx AND r.maxx >= :minx AND r.miny <= :maxy AND r.maxy >= :miny"
    " AND ((r.minx >= :minx AND r.maxx <= :maxx AND r.miny >= :miny AND r.maxy <= :maxy)"
    " OR (ST_MinX(o.geom) >= :minx AND ST_MaxX(o.geom) <= :maxx"
    " AND ST_MinY(o.geom) >= :miny AND ST_MaxY(o.geom) <= :maxy))"
)


def _ceil_to_millisecond(moment: datetime) -> datetime:
    """The smallest whole millisecond at or after ``moment`` (``datetime.max`` caps it).

    At the very end of year 9999 no whole millisecond follows; then a moment after
    every storable one is returned, whose formatted text sorts after them all.
    """
    rest = moment.microsecond % 1000
    try:
        return moment if rest == 0 else moment + timedelta(microseconds=1000 - rest)
    except OverflowError:
        return moment


def _start_text(moment: datetime) -> str:
    """The text ``observed_at >= ?`` compares with for an inclusive start."""
    ceiled = _ceil_to_millisecond(moment)
    text = format_utc(ceiled)
    # Only at 9999-12-31T23:59:59.999xxx can the ceiling fail; '~' sorts after 'Z'.
    return text if ceiled.microsecond % 1000 == 0 else text[:-1] + "~"


class GeoPackageStore(Store):
    """A :class:`~service.store.base.Store` on one GeoPackage file.

    Parameters
    ----------
    path : Path
        The ``.gpkg`` file. A missing or empty file is initialized; an existing
        blightmap GeoPackage is opened without changes (beyond switching it to WAL
        if a tool switched it back).

    Raises
    ------
    StoreError
        If the file cannot be opened or is not a blightmap GeoPackage (another
        application's SQLite database, a foreign GeoPackage, not SQLite at all).
    """

    kind = "geopackage"

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._connections = Connections(self._path)
        self._write = self._connections.write
        self._read = self._connections.read

    def close(self) -> None:
        """Close every connection; later calls raise :class:`StoreError`. Idempotent."""
        self._connections.close()

    def __enter__(self) -> GeoPackageStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def describe(self) -> dict[str, str]:
        """Kind and path of the store."""
        return {"kind": self.kind, "path": str(self._path)}

    @staticmethod
    def _bump_data_version(connection: sqlite3.Connection, *, towers: bool = False) -> None:
        keys = ("data_version", "towers_version") if towers else ("data_version",)
        connection.execute(
            "UPDATE blightmap_meta SET value = CAST(value AS INTEGER) + 1 "
            f"WHERE key IN ({', '.join('?' * len(keys))})",
            keys,
        )

    # -- counters ----------------------------------------------------------
    def data_version(self) -> int:
        """The counter incremented by every committed change of towers or observations."""
        with self._read() as connection:
            row = connection.execute(
                "SELECT value FROM blightmap_meta WHERE key = 'data_version'"
            ).fetchone()
        return int(row[0])

    def towers_version(self) -> int:
        """The counter incremented by every committed change of towers only."""
        with self._read() as connection:
            row = connection.execute(
                "SELECT value FROM blightmap_meta WHERE key = 'towers_version'"
            ).fetchone()
        return 0 if row is None else int(row[0])

    def counts(self) -> dict[str, int]:
        """Number of towers, observations and active (not revoked) keys."""
        queries = {
            "towers": "SELECT count(*) FROM towers",
            "observations": "SELECT count(*) FROM observations",
            "keys": "SELECT count(*) FROM blightmap_keys WHERE revoked = 0",
        }
        with self._read() as connection:
            return {name: connection.execute(q).fetchone()[0] for name, q in queries.items()}

    # -- towers ------------------------------------------------------------
    def list_towers(self) -> list[Tower]:
        """Every tower, ordered by id."""
        with self._read() as connection:
            rows = connection.execute(f"{_TOWER_SELECT} ORDER BY tower_id").fetchall()
        return [tower_from_row(row) for row in rows]

    def get_tower(self, tower_id: str) -> Tower | None:
        """One tower or ``None``."""
        with self._read() as connection:
            row = connection.execute(f"{_TOWER_SELECT} WHERE tower_id = ?", (tower_id,)).fetchone()
        return None if row is None else tower_from_row(row)

    def create_tower(self, tower: Tower, key_id: str | None = None) -> None:
        """Insert a new tower; raises :class:`AlreadyExists` if its id is taken."""
        row = tower_to_row(tower)
        with self._write() as connection:
            if self._stored_tower(connection, tower.id) is not None:
                raise AlreadyExists(f"tower {tower.id!r} already exists")
            connection.execute(_TOWER_INSERT, (*row, key_id))
            self._towers_changed(connection)

    def replace_tower(self, tower: Tower, key_id: str | None = None) -> None:
        """Replace an existing tower; raises :class:`NotFound` if it does not exist.

        Replacing a tower by an identical one changes nothing (not even
        :meth:`data_version` or the recorded writer).
        """
        row = tower_to_row(tower)
        with self._write() as connection:
            stored = self._stored_tower(connection, tower.id)
            if stored is None:
                raise NotFound(f"tower {tower.id!r} does not exist")
            if stored != row:
                connection.execute(_TOWER_UPDATE, (*row[1:], key_id, tower.id))
                self._towers_changed(connection)

    def delete_tower(self, tower_id: str, key_id: str | None = None) -> None:
        """Delete a tower, with an audit record (who, when, the deleted tower).

        Raises :class:`NotFound` if it does not exist.
        """
        with self._write() as connection:
            row = connection.execute(f"{_TOWER_SELECT} WHERE tower_id = ?", (tower_id,)).fetchone()
            if row is None:
                raise NotFound(f"tower {tower_id!r} does not exist")
            connection.execute("DELETE FROM towers WHERE tower_id = ?", (tower_id,))
            write_audit(
                connection,
                key_id,
                "delete",
                f"towers/{tower_id}",
                tower_feature(tower_from_row(row)),
            )
            self._towers_changed(connection)

    def upsert_towers(self, towers: Sequence[Tower], key_id: str | None = None) -> tuple[int, int]:
        """Insert or replace many towers in one transaction; returns (created, replaced).

        A tower identical to the stored one counts as replaced but changes nothing.
        """
        rows = [tower_to_row(tower) for tower in towers]
        created = replaced = 0
        changed = False
        with self._write() as connection:
            for row in rows:
                stored = self._stored_tower(connection, row[0])
                if stored is None:
                    connection.execute(_TOWER_INSERT, (*row, key_id))
                    created += 1
                    changed = True
                else:
                    replaced += 1
                    if stored != row:
                        connection.execute(_TOWER_UPDATE, (*row[1:], key_id, row[0]))
                        changed = True
            if changed:
                self._towers_changed(connection)
        return created, replaced

    @staticmethod
    def _stored_tower(connection: sqlite3.Connection, tower_id: str) -> tuple[Any, ...] | None:
        row = connection.execute(f"{_TOWER_SELECT} WHERE tower_id = ?", (tower_id,)).fetchone()
        return None if row is None else tuple(row)

    def _towers_changed(self, connection: sqlite3.Connection) -> None:
        """Refresh the layer's extent and last_change in gpkg_contents; bump data_version."""
        connection.execute(
            "UPDATE gpkg_contents SET "
            "(min_x, min_y, max_x, max_y) = (SELECT min(ST_MinX(geom)), min(ST_MinY(geom)), "
            "max(ST_MaxX(geom)), max(ST_MaxY(geom)) FROM towers), "
            f"last_change = {_NOW_SQL} WHERE table_name = 'towers'"
        )
        self._bump_data_version(connection, towers=True)

    # -- observations ------------------------------------------------------
    def add_observations(
        self, observations: Sequence[Observation], key_id: str | None = None
    ) -> IngestResult:
        """Insert the observations whose ids are not yet stored, in one transaction.

        Ids already stored (or repeated within ``observations``) with the same
        content (:func:`~geo.observations.observation_digest`) count as ``known``
        and are left untouched; with other content they raise
        :class:`ConflictingObservations` and nothing is written. ``received_at`` is
        set to the current time, ``key_id`` records the writer.
        """
        if not observations:
            return IngestResult(new=0, known=0)
        rows = observation_rows(observations, format_utc(datetime.now(UTC)), key_id)
        lons = [o.lon for o in observations]
        lats = [o.lat for o in observations]
        with self._write() as connection:
            new = connection.executemany(_OBSERVATION_INSERT, rows).rowcount
            if new < len(rows):
                check_known(connection, observations)
            if new:
                # Extends the extent by the whole batch: a superset when some ids were
                # known, which the informative gpkg_contents extent allows.
                connection.execute(
                    "UPDATE gpkg_contents SET "
                    "min_x = min(coalesce(min_x, :minx), :minx), "
                    "min_y = min(coalesce(min_y, :miny), :miny), "
                    "max_x = max(coalesce(max_x, :maxx), :maxx), "
                    "max_y = max(coalesce(max_y, :maxy), :maxy), "
                    f"last_change = {_NOW_SQL} WHERE table_name = 'observations'",
                    {"minx": min(lons), "miny": min(lats), "maxx": max(lons), "maxy": max(lats)},
                )
                self._bump_data_version(connection)
        return IngestResult(new=new, known=len(rows) - new)

    def delete_observation(self, observation_id: str, key_id: str | None) -> Observation:
        """Delete one observation, with an audit record of who deleted what and when.

        The audit record's ``detail`` holds the deleted feature and its digest, so the
        deletion can be checked and undone. Raises :class:`NotFound` if there is none.
        """
        with self._write() as connection:
            rows = connection.execute(
                f"{_OBSERVATION_SELECT} FROM observations AS o WHERE o.obs_id = ?",
                (observation_id,),
            ).fetchall()
            if not rows:
                raise NotFound(f"observation {observation_id!r} does not exist")
            (deleted,) = observations_from_rows(rows)
            connection.execute("DELETE FROM observations WHERE obs_id = ?", (observation_id,))
            write_audit(
                connection,
                key_id,
                "delete",
                f"observations/{observation_id}",
                {"feature": observation_feature(deleted), "digest": observation_digest(deleted)},
            )
            connection.execute(
                f"UPDATE gpkg_contents SET last_change = {_NOW_SQL} "
                "WHERE table_name = 'observations'"
            )
            self._bump_data_version(connection)
        return deleted

    def audit_log(self, limit: int = 100) -> list[AuditRecord]:
        """The newest ``limit`` audit records, newest first."""
        with self._read() as connection:
            return read_audit(connection, limit)

    def written_by(self, layer: str, feature_id: str) -> str | None:
        """Key id that wrote a row of ``towers``, ``observations`` or ``treatments``.

        Raises
        ------
        NotFound
            If the layer has no such row.
        ValueError
            If ``layer`` is not one of the three.
        """
        with self._read() as connection:
            return read_writer(connection, layer, feature_id)

    def latest_observation_time(self) -> datetime | None:
        """``observed_at`` of the newest observation (the observed_at index answers)."""
        with self._read() as connection:
            (latest,) = connection.execute("SELECT max(observed_at) FROM observations").fetchone()
        return None if latest is None else parse_utc(latest)

    def observation_time_range(self) -> tuple[datetime, datetime] | None:
        """``observed_at`` of the oldest and the newest observation (index-only reads)."""
        with self._read() as connection:
            (first,) = connection.execute("SELECT min(observed_at) FROM observations").fetchone()
            (last,) = connection.execute("SELECT max(observed_at) FROM observations").fetchone()
        return None if first is None else (parse_utc(first), parse_utc(last))

    # -- treatments --------------------------------------------------------
    def add_treatment(self, treatment: Treatment, key_id: str | None = None) -> None:
        """Record a treatment; raises :class:`AlreadyExists` if its id is taken."""
        row = (*treatment_to_row(treatment, format_utc(datetime.now(UTC))), key_id)
        with self._write() as connection:
            taken = connection.execute(
                "SELECT 1 FROM treatments WHERE treatment_id = ?", (treatment.id,)
            ).fetchone()
            if taken:
                raise AlreadyExists(f"treatment {treatment.id!r} already exists")
            connection.execute(_TREATMENT_INSERT, row)
            connection.execute(
                "UPDATE gpkg_contents SET "
                "(min_x, min_y, max_x, max_y) = (SELECT min(ST_MinX(geom)), min(ST_MinY(geom)), "
                "max(ST_MaxX(geom)), max(ST_MaxY(geom)) FROM treatments), "
                f"last_change = {_NOW_SQL} WHERE table_name = 'treatments'"
            )
            self._bump_data_version(connection)

    def get_treatment(self, treatment_id: str) -> Treatment | None:
        """One treatment or ``None``."""
        with self._read() as connection:
            row = connection.execute(
                f"{_TREATMENT_SELECT} WHERE treatment_id = ?", (treatment_id,)
            ).fetchone()
        return None if row is None else treatment_from_row(row)

    def list_treatments(self) -> list[Treatment]:
        """Every treatment, ordered by ``applied_at`` then id."""
        with self._read() as connection:
            rows = connection.execute(
                f"{_TREATMENT_SELECT} ORDER BY applied_at, treatment_id"
            ).fetchall()
        return [treatment_from_row(row) for row in rows]

    def get_observation(self, observation_id: str) -> Observation | None:
        """One observation or ``None``."""
        with self._read() as connection:
            rows = connection.execute(
                f"{_OBSERVATION_SELECT} FROM observations AS o WHERE o.obs_id = ?",
                (observation_id,),
            ).fetchall()
        return observations_from_rows(rows)[0] if rows else None

    def query_observations(self, query: ObservationQuery) -> ObservationPage:
        """A page of matching observations, ordered by ``observed_at`` then id.

        ``bbox_wgs84`` is ``(min_lon, min_lat, max_lon, max_lat)``, edges inclusive,
        evaluated exactly (the rtree narrows the candidates first). ``start``/``end``
        are inclusive; stored instants have millisecond precision.

        Raises
        ------
        ValueError
            If ``limit`` or ``offset`` is negative.
        """
        if query.limit < 0 or query.offset < 0:
            raise ValueError("limit and offset must not be negative")
        joins, conditions, params = self._observation_filter(query)
        source = f"FROM observations AS o {joins} WHERE {conditions}"
        with self._read() as connection:
            (matched,) = connection.execute(f"SELECT count(*) {source}", params).fetchone()
            rows = connection.execute(
                f"{_OBSERVATION_SELECT} {source} ORDER BY o.observed_at, o.obs_id "
                "LIMIT :limit OFFSET :offset",
                {**params, "limit": query.limit, "offset": query.offset},
            ).fetchall()
        return ObservationPage(items=observations_from_rows(rows), number_matched=matched)

    @staticmethod
    def _observation_filter(query: ObservationQuery) -> tuple[str, str, dict[str, Any]]:
        """JOIN clause, WHERE condition and parameters selecting ``query``'s rows."""
        joins = ""
        conditions = ["1"]
        params: dict[str, Any] = {}
        if query.bbox_wgs84 is not None:
            minx, miny, maxx, maxy = (float(v) for v in query.bbox_wgs84)
            joins = _BBOX_JOIN
            conditions.append(_BBOX_WHERE)
            params.update(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
        if query.start is not None:
            conditions.append("o.observed_at >= :start")
            params["start"] = _start_text(query.start)
        if query.end is not None:
            conditions.append("o.observed_at <= :end")
            params["end"] = format_utc(query.end)
        if query.tower_id is not None:
            conditions.append("o.tower_id = :tower_id")
            params["tower_id"] = query.tower_id
        return joins, " AND ".join(conditions), params

    # -- keys --------------------------------------------------------------
    def add_key(self, record: KeyRecord) -> None:
        """Store a new key record; raises :class:`AlreadyExists` if its id or digest is taken."""
        row = key_to_row(record)
        with self._write() as connection:
            taken = connection.execute(
                "SELECT 1 FROM blightmap_keys WHERE key_id = ? OR digest_hex = ?",
                (record.key_id, record.digest_hex),
            ).fetchone()
            if taken is not None:
                raise AlreadyExists(f"key {record.key_id!r} or its digest already exists")
            connection.execute(
                f"INSERT INTO blightmap_keys ({', '.join(KEY_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(KEY_COLUMNS))})",
                row,
            )

    def find_key(self, digest_hex: str) -> KeyRecord | None:
        """The active (not revoked) key with this digest, or ``None``."""
        with self._read() as connection:
            row = connection.execute(
                f"{_KEY_SELECT} WHERE digest_hex = ? AND revoked = 0", (digest_hex,)
            ).fetchone()
        return None if row is None else key_from_row(row)

    def list_keys(self) -> list[KeyRecord]:
        """Every key record, revoked ones included, ordered by creation time."""
        with self._read() as connection:
            rows = connection.execute(f"{_KEY_SELECT} ORDER BY created_at, key_id").fetchall()
        return [key_from_row(row) for row in rows]

    def revoke_key(self, key_id: str) -> None:
        """Revoke a key; raises :class:`NotFound` if it does not exist. Idempotent."""
        with self._write() as connection:
            cursor = connection.execute(
                "UPDATE blightmap_keys SET revoked = 1 WHERE key_id = ?", (key_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(f"key {key_id!r} does not exist")
