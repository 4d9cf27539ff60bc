"""The scaled store: PostgreSQL with PostGIS, for several service processes on one database.

Selected by ``BLIGHTMAP_DATABASE_URL=postgresql://...`` (see :func:`service.app.open_store`);
the tables live in one schema (``BLIGHTMAP_DATABASE_SCHEMA``, ``blightmap`` by default),
created and upgraded by the versioned migrations of :mod:`service.store.postgis_schema`.

The contract is the GeoPackage's (:mod:`service.store.gpkg`): every write method is one
transaction that returns after a durable ``COMMIT`` (``synchronous_commit = on``) and
bumps ``data_version`` (a row of ``meta``) inside that same transaction, so a reader
never sees new data with an old version. Observation batches are idempotent: the batch
is ``COPY``-ed into a temporary staging table, then ``INSERT ... SELECT ... ON CONFLICT
(obs_id) DO NOTHING`` moves the new ids; when some ids were already stored, their stored
content is compared with the batch's (:func:`geo.observations.observation_digest`) and
any difference aborts the whole batch with :class:`ConflictingObservations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geo.layer import Tower
from geo.observations import Observation, observation_digest
from geo.treatments import Treatment
from service.store.base import (
    AlreadyExists,
    AuditRecord,
    ConflictingObservations,
    IngestResult,
    KeyRecord,
    NotFound,
    ObservationPage,
    ObservationQuery,
    Store,
    StoreError,
)
from service.store.gpkg_provenance import observation_feature, tower_feature
from service.store.postgis_connections import Pool, upgrade_database
from service.store.postgis_rows import (
    AUDIT_SELECT,
    KEY_SELECT,
    OBSERVATION_COLUMNS,
    OBSERVATION_SELECT,
    TOWER_SELECT,
    TREATMENT_SELECT,
    audit_from_row,
    key_from_row,
    key_to_row,
    observation_copy_row,
    observation_from_row,
    to_millisecond,
    tower_from_row,
    tower_to_row,
    treatment_from_row,
    treatment_to_row,
)

__all__ = ["PostGISStore"]

_TOWER_COLUMNS = (
    "tower_id, name, district, base_height_m, height_m, tier_count, tiers, extra, geom, key_id"
)
_TOWER_VALUES = "%s, %s, %s, %s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326), %s"
_TOWER_UPDATE = (
    "UPDATE towers SET name = %s, district = %s, base_height_m = %s, height_m = %s, "
    "tier_count = %s, tiers = %s, extra = %s, geom = ST_GeomFromWKB(%s, 4326), key_id = %s, "
    "changed_at = now() WHERE tower_id = %s"
)
# Created once per pooled connection; emptied by every commit.
_STAGING = """CREATE TEMP TABLE blightmap_obs_in (
  ord integer, obs_id text, lon double precision, lat double precision,
  observed_at timestamptz, intensity double precision, source text,
  confidence double precision, microbial_balance double precision, tower_id text,
  tier integer, height_ellipsoid_m double precision, received_at timestamptz, key_id text
) ON COMMIT DELETE ROWS"""
_STAGING_COLUMNS = (
    "ord, obs_id, lon, lat, observed_at, intensity, source, confidence, microbial_balance, "
    "tower_id, tier, height_ellipsoid_m, received_at, key_id"
)
_MOVE_NEW = """INSERT INTO observations (obs_id, observed_at, intensity, source, confidence,
  microbial_balance, tower_id, tier, height_ellipsoid_m, received_at, key_id, geom)
SELECT DISTINCT ON (obs_id) obs_id, observed_at, intensity, source, confidence,
  microbial_balance, tower_id, tier, height_ellipsoid_m, received_at, key_id,
  ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM blightmap_obs_in ORDER BY obs_id, ord
ON CONFLICT (obs_id) DO NOTHING"""
_STORED_OF_BATCH = f"{OBSERVATION_SELECT} WHERE o.obs_id IN (SELECT obs_id FROM blightmap_obs_in)"
_LAYER_IDS = {"towers": "tower_id", "observations": "obs_id", "treatments": "treatment_id"}


def _now() -> datetime:
    return to_millisecond(datetime.now(UTC))


class PostGISStore(Store):
    """A :class:`~service.store.base.Store` on PostgreSQL + PostGIS.

    Parameters
    ----------
    url : str
        A libpq connection string or ``postgresql://`` URL.
    schema : str
        The PostgreSQL schema holding the tables (created if missing).
    migrate : bool
        Apply missing migrations first (the service does; tools may pass ``False`` and
        run ``blightmap db upgrade`` themselves).
    pool_size : int
        Most connections this process opens.

    Raises
    ------
    StoreError
        If the database cannot be reached, lacks PostGIS, or was migrated by a newer
        blightmap.
    """

    kind = "postgis"

    def __init__(
        self,
        url: str,
        schema: str = "blightmap",
        *,
        migrate: bool = True,
        pool_size: int = 10,
        connect_timeout_s: float = 10.0,
    ) -> None:
        if migrate:
            upgrade_database(url, schema, connect_timeout_s)
        self._pool = Pool(
            url,
            schema,
            max_size=pool_size,
            connect_timeout_s=connect_timeout_s,
            session_setup=(_STAGING,),
        )
        self._schema = schema

    def close(self) -> None:
        """Close the pool; later calls raise :class:`StoreError`. Idempotent."""
        self._pool.close()

    def __enter__(self) -> PostGISStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def describe(self) -> dict[str, str]:
        """Kind, ``host:port/dbname`` and schema (never the user or password)."""
        return {"kind": self.kind, "location": self._pool.location, "schema": self._schema}

    # -- counters ----------------------------------------------------------
    @staticmethod
    def _bump(cursor: psycopg.Cursor, *, towers: bool = False, observations: int = 0) -> None:
        """Increment data_version (and towers_version) in the caller's transaction."""
        cursor.execute(
            "UPDATE meta SET value = value + CASE key WHEN 'observations' THEN %s ELSE 1 END "
            "WHERE key = ANY(%s)",
            (
                observations,
                ["data_version", "observations"] + (["towers_version"] if towers else []),
            ),
        )

    def _meta(self, key: str) -> int:
        with self._pool.read() as cursor:
            row = cursor.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return 0 if row is None else int(row[0])

    def data_version(self) -> int:
        """The counter incremented by every committed change of towers or observations."""
        return self._meta("data_version")

    def towers_version(self) -> int:
        """The counter incremented by every committed change of towers only."""
        return self._meta("towers_version")

    def counts(self) -> dict[str, int]:
        """Towers, observations (a counter kept in the write transactions) and active keys."""
        with self._pool.read() as cursor:
            row = cursor.execute(
                "SELECT (SELECT count(*) FROM towers), "
                "(SELECT value FROM meta WHERE key = 'observations'), "
                "(SELECT count(*) FROM api_keys WHERE NOT revoked)"
            ).fetchone()
        assert row is not None
        return {"towers": int(row[0]), "observations": int(row[1]), "keys": int(row[2])}

    # -- towers ------------------------------------------------------------
    def list_towers(self) -> list[Tower]:
        """Every tower, ordered by id."""
        with self._pool.read() as cursor:
            rows = cursor.execute(f"{TOWER_SELECT} ORDER BY tower_id").fetchall()
        return [tower_from_row(row) for row in rows]

    def get_tower(self, tower_id: str) -> Tower | None:
        """One tower or ``None``."""
        with self._pool.read() as cursor:
            row = cursor.execute(f"{TOWER_SELECT} WHERE tower_id = %s", (tower_id,)).fetchone()
        return None if row is None else tower_from_row(row)

    def create_tower(self, tower: Tower, key_id: str | None = None) -> None:
        """Insert a new tower; raises :class:`AlreadyExists` if its id is taken."""
        row = tower_to_row(tower)
        with self._pool.write() as cursor:
            cursor.execute(
                f"INSERT INTO towers ({_TOWER_COLUMNS}) VALUES ({_TOWER_VALUES}) "
                "ON CONFLICT (tower_id) DO NOTHING",
                (*row, key_id),
            )
            if cursor.rowcount == 0:
                raise AlreadyExists(f"tower {tower.id!r} already exists")
            self._bump(cursor, towers=True)

    @staticmethod
    def _stored_tower(cursor: psycopg.Cursor, tower_id: str) -> tuple[Any, ...] | None:
        """The stored row as :func:`tower_to_row` would write it, locked for update."""
        row = cursor.execute(
            "SELECT tower_id, name, district, base_height_m, height_m, tier_count, "
            "tiers::text, extra::text, ST_AsBinary(geom) FROM towers WHERE tower_id = %s "
            "FOR UPDATE",
            (tower_id,),
        ).fetchone()
        return None if row is None else (*row[:8], bytes(row[8]))

    def replace_tower(self, tower: Tower, key_id: str | None = None) -> None:
        """Replace an existing tower; raises :class:`NotFound` if it does not exist.

        Replacing a tower by an identical one changes nothing (not even
        :meth:`data_version` or the recorded writer).
        """
        row = tower_to_row(tower)
        with self._pool.write() as cursor:
            stored = self._stored_tower(cursor, tower.id)
            if stored is None:
                raise NotFound(f"tower {tower.id!r} does not exist")
            if stored != row:
                cursor.execute(_TOWER_UPDATE, (*row[1:], key_id, tower.id))
                self._bump(cursor, towers=True)

    def delete_tower(self, tower_id: str, key_id: str | None = None) -> None:
        """Delete a tower, with an audit record (who, when, the deleted tower).

        Raises :class:`NotFound` if it does not exist.
        """
        with self._pool.write() as cursor:
            row = cursor.execute(
                "DELETE FROM towers WHERE tower_id = %s RETURNING tower_id, name, district, "
                "base_height_m, height_m, tiers::text, extra::text, ST_AsBinary(geom)",
                (tower_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"tower {tower_id!r} does not exist")
            self._audit(cursor, key_id, f"towers/{tower_id}", tower_feature(tower_from_row(row)))
            self._bump(cursor, towers=True)

    def upsert_towers(self, towers: Sequence[Tower], key_id: str | None = None) -> tuple[int, int]:
        """Insert or replace many towers in one transaction; returns (created, replaced).

        A tower identical to the stored one counts as replaced but changes nothing.
        """
        rows = [tower_to_row(tower) for tower in towers]
        created = replaced = 0
        changed = False
        with self._pool.write() as cursor:
            for row in rows:
                stored = self._stored_tower(cursor, row[0])
                if stored is None:
                    cursor.execute(
                        f"INSERT INTO towers ({_TOWER_COLUMNS}) VALUES ({_TOWER_VALUES})",
                        (*row, key_id),
                    )
                    created += 1
                    changed = True
                else:
                    replaced += 1
                    if stored != row:
                        cursor.execute(_TOWER_UPDATE, (*row[1:], key_id, row[0]))
                        changed = True
            if changed:
                self._bump(cursor, towers=True)
        return created, replaced

    # -- observations ------------------------------------------------------
    def add_observations(
        self, observations: Sequence[Observation], key_id: str | None = None
    ) -> IngestResult:
        """Insert the observations whose ids are not yet stored, in one transaction.

        ``COPY`` into a staging table, then ``INSERT ... ON CONFLICT DO NOTHING``. Ids
        already stored (or repeated within ``observations``) with the same content
        count as ``known``; with other content they raise
        :class:`ConflictingObservations` and nothing is written.
        """
        if not observations:
            return IngestResult(new=0, known=0)
        received_at = _now()
        with self._pool.write() as cursor:
            with cursor.copy(f"COPY blightmap_obs_in ({_STAGING_COLUMNS}) FROM STDIN") as copy:
                for index, observation in enumerate(observations):
                    copy.write_row(observation_copy_row(index, observation, received_at, key_id))
            cursor.execute(_MOVE_NEW)
            new = cursor.rowcount
            if new < len(observations):
                self._check_known(cursor, observations)
            if new:
                self._bump(cursor, observations=new)
        return IngestResult(new=new, known=len(observations) - new)

    @staticmethod
    def _check_known(cursor: psycopg.Cursor, batch: Sequence[Observation]) -> None:
        """Raise :class:`ConflictingObservations` if a batch id is stored with other content.

        Runs after the move of the new ids, so each id's stored row is the batch's
        first occurrence or an older one: comparing every occurrence with it catches
        conflicts with the store and within the batch alike.
        """
        rows = cursor.execute(_STORED_OF_BATCH).fetchall()
        stored = {o.id: observation_digest(o) for o in map(observation_from_row, rows)}
        if len(stored) < len({o.id for o in batch}):
            # Seen by ON CONFLICT, then deleted by a concurrent transaction: nothing is
            # written, and the client's retry will store it.
            raise StoreError("an observation of the batch was deleted meanwhile; send it again")
        conflicts = [
            (i, stored[o.id]) for i, o in enumerate(batch) if observation_digest(o) != stored[o.id]
        ]
        if conflicts:
            raise ConflictingObservations(conflicts)

    def delete_observation(self, observation_id: str, key_id: str | None) -> Observation:
        """Delete one observation, with an audit record of who deleted what and when.

        Raises :class:`NotFound` if there is none.
        """
        with self._pool.write() as cursor:
            row = cursor.execute(
                "DELETE FROM observations AS o WHERE o.obs_id = %s "
                f"RETURNING {OBSERVATION_COLUMNS}",
                (observation_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"observation {observation_id!r} does not exist")
            deleted = observation_from_row(row)
            detail = {
                "feature": observation_feature(deleted),
                "digest": observation_digest(deleted),
            }
            self._audit(cursor, key_id, f"observations/{observation_id}", detail)
            self._bump(cursor, observations=-1)
        return deleted

    def get_observation(self, observation_id: str) -> Observation | None:
        """One observation or ``None``."""
        with self._pool.read() as cursor:
            row = cursor.execute(
                f"{OBSERVATION_SELECT} WHERE o.obs_id = %s", (observation_id,)
            ).fetchone()
        return None if row is None else observation_from_row(row)

    def query_observations(self, query: ObservationQuery) -> ObservationPage:
        """A page of matching observations, ordered by ``observed_at`` then id.

        ``bbox_wgs84`` is ``(min_lon, min_lat, max_lon, max_lat)``, edges inclusive,
        evaluated exactly (the GiST index narrows the candidates first);
        ``start``/``end`` are inclusive.

        Raises
        ------
        ValueError
            If ``limit`` or ``offset`` is negative.
        """
        if query.limit < 0 or query.offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, params = _observation_filter(query)
        with self._pool.read() as cursor:
            if where:
                counted = cursor.execute(
                    f"SELECT count(*) FROM observations AS o WHERE {where}", params
                ).fetchone()
            else:
                counted = cursor.execute(
                    "SELECT value FROM meta WHERE key = 'observations'"
                ).fetchone()
            matched = 0 if counted is None else int(counted[0])
            rows = []
            if query.limit and query.offset < matched:
                rows = cursor.execute(
                    f"{OBSERVATION_SELECT} {'WHERE ' + where if where else ''} "
                    "ORDER BY o.observed_at, o.obs_id LIMIT %s OFFSET %s",
                    [*params, query.limit, query.offset],
                ).fetchall()
        return ObservationPage([observation_from_row(row) for row in rows], matched)

    def latest_observation_time(self) -> datetime | None:
        """``observed_at`` of the newest observation (the B-tree answers)."""
        with self._pool.read() as cursor:
            row = cursor.execute("SELECT max(observed_at) FROM observations").fetchone()
        return None if row is None or row[0] is None else row[0].astimezone(UTC)

    def observation_time_range(self) -> tuple[datetime, datetime] | None:
        """``observed_at`` of the oldest and the newest observation."""
        with self._pool.read() as cursor:
            row = cursor.execute(
                "SELECT min(observed_at), max(observed_at) FROM observations"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return row[0].astimezone(UTC), row[1].astimezone(UTC)

    # -- treatments --------------------------------------------------------
    def add_treatment(self, treatment: Treatment, key_id: str | None = None) -> None:
        """Record a treatment; raises :class:`AlreadyExists` if its id is taken."""
        row = treatment_to_row(treatment, _now())
        with self._pool.write() as cursor:
            cursor.execute(
                "INSERT INTO treatments (treatment_id, strain, dose_l_per_m2, applied_at, "
                "zone_id, notes, recorded_at, geom, key_id) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, ST_Multi(ST_GeomFromWKB(%s, 4326)), %s) "
                "ON CONFLICT (treatment_id) DO NOTHING",
                (*row, key_id),
            )
            if cursor.rowcount == 0:
                raise AlreadyExists(f"treatment {treatment.id!r} already exists")
            self._bump(cursor)

    def get_treatment(self, treatment_id: str) -> Treatment | None:
        """One treatment or ``None``."""
        with self._pool.read() as cursor:
            row = cursor.execute(
                f"{TREATMENT_SELECT} WHERE treatment_id = %s", (treatment_id,)
            ).fetchone()
        return None if row is None else treatment_from_row(row)

    def list_treatments(self) -> list[Treatment]:
        """Every treatment, ordered by ``applied_at`` then id."""
        with self._pool.read() as cursor:
            rows = cursor.execute(
                f"{TREATMENT_SELECT} ORDER BY applied_at, treatment_id"
            ).fetchall()
        return [treatment_from_row(row) for row in rows]

    # -- provenance and audit ----------------------------------------------
    @staticmethod
    def _audit(cursor: psycopg.Cursor, key_id: str | None, target: str, detail: Any) -> None:
        cursor.execute(
            "INSERT INTO audit (at, key_id, action, target, detail) "
            "VALUES (%s, %s, 'delete', %s, %s)",
            (_now(), key_id, target, Jsonb(detail)),
        )

    def written_by(self, layer: str, feature_id: str) -> str | None:
        """Key id that wrote a row of ``towers``, ``observations`` or ``treatments``.

        Raises
        ------
        NotFound
            If the layer has no such row.
        ValueError
            If ``layer`` is not one of the three.
        """
        id_column = _LAYER_IDS.get(layer)
        if id_column is None:
            raise ValueError(f"no provenance for layer {layer!r}")
        with self._pool.read() as cursor:
            row = cursor.execute(
                f"SELECT key_id FROM {layer} WHERE {id_column} = %s", (feature_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"{layer} has no {feature_id!r}")
        return None if row[0] is None else str(row[0])

    def audit_log(self, limit: int = 100) -> list[AuditRecord]:
        """The newest ``limit`` audit records, newest first."""
        with self._pool.read() as cursor:
            rows = cursor.execute(f"{AUDIT_SELECT} ORDER BY seq DESC LIMIT %s", (limit,))
            return [audit_from_row(row) for row in rows.fetchall()]

    # -- keys --------------------------------------------------------------
    def add_key(self, record: KeyRecord) -> None:
        """Store a new key record; raises :class:`AlreadyExists` if its id or digest is taken."""
        with self._pool.write() as cursor:
            cursor.execute(
                "INSERT INTO api_keys (key_id, role, digest_hex, label, created_at, revoked, "
                "scopes) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
                key_to_row(record),
            )
            if cursor.rowcount == 0:
                raise AlreadyExists(f"key {record.key_id!r} or its digest already exists")

    def find_key(self, digest_hex: str) -> KeyRecord | None:
        """The active (not revoked) key with this digest, or ``None``."""
        with self._pool.read() as cursor:
            row = cursor.execute(
                f"{KEY_SELECT} WHERE digest_hex = %s AND NOT revoked", (digest_hex,)
            ).fetchone()
        return None if row is None else key_from_row(row)

    def list_keys(self) -> list[KeyRecord]:
        """Every key record, revoked ones included, ordered by creation time."""
        with self._pool.read() as cursor:
            rows = cursor.execute(f"{KEY_SELECT} ORDER BY created_at, key_id").fetchall()
        return [key_from_row(row) for row in rows]

    def revoke_key(self, key_id: str) -> None:
        """Revoke a key; raises :class:`NotFound` if it does not exist. Idempotent."""
        with self._pool.write() as cursor:
            cursor.execute("UPDATE api_keys SET revoked = true WHERE key_id = %s", (key_id,))
            if cursor.rowcount == 0:
                raise NotFound(f"key {key_id!r} does not exist")


def _observation_filter(query: ObservationQuery) -> tuple[str, list[Any]]:
    """WHERE condition (empty: none) and parameters selecting ``query``'s rows."""
    conditions: list[str] = []
    params: list[Any] = []
    if query.bbox_wgs84 is not None:
        minx, miny, maxx, maxy = (float(v) for v in query.bbox_wgs84)
        conditions.append(
            "o.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) "
            "AND ST_X(o.geom) BETWEEN %s AND %s AND ST_Y(o.geom) BETWEEN %s AND %s"
        )
        params += [minx, miny, maxx, maxy, minx, maxx, miny, maxy]
    if query.start is not None:
        conditions.append("o.observed_at >= %s")
        params.append(query.start)
    if query.end is not None:
        conditions.append("o.observed_at <= %s")
        params.append(query.end)
    if query.tower_id is not None:
        conditions.append("o.tower_id = %s")
        params.append(query.tower_id)
    return " AND ".join(conditions), params
