"""Versioned SQL migrations of the PostGIS store, applied at start and by ``blightmap db upgrade``.

Every table lives in one PostgreSQL schema (``blightmap`` by default, see
:attr:`service.settings.Settings.database_schema`); the PostGIS extension stays in
``public``. ``schema_migrations`` records each applied version. :func:`upgrade`
applies the missing versions in order, each in its own transaction, under a
transaction-level advisory lock, so replicas starting at the same time apply each
migration exactly once; a schema written by a newer blightmap is refused.

Index choice for the observations (hundreds of millions of rows are the target):

* ``geom``: GiST, for ``bbox`` queries (``&&`` then the exact edge test);
* ``observed_at``: BRIN, a few pages for the whole table, for time-window scans of a
  table filled roughly in time order; beside it a B-tree on ``(observed_at, obs_id)``,
  because the API pages in that order and asks for the oldest and newest instant,
  which a BRIN index cannot answer without reading the table;
* ``(tower_id, observed_at)``: B-tree, for a tower's history.

Geometries carry ``ST_IsValid`` check constraints: nothing invalid is stored even when
it bypasses the service's validators.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from service.store.base import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "applied_version", "upgrade"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: its number, a name and the SQL that reaches it."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial layout: towers, observations, treatments, keys, audit, counters",
        (
            """CREATE TABLE meta (
  key text PRIMARY KEY,
  value bigint NOT NULL
)""",
            "INSERT INTO meta (key, value) VALUES "
            "('data_version', 0), ('towers_version', 0), ('observations', 0)",
            """CREATE TABLE towers (
  tower_id text PRIMARY KEY,
  name text NOT NULL DEFAULT '',
  district text NOT NULL DEFAULT '',
  base_height_m double precision NOT NULL,
  height_m double precision NOT NULL,
  tier_count integer NOT NULL,
  tiers json NOT NULL,
  extra json NOT NULL,
  geom public.geometry(Polygon, 4326) NOT NULL
    CONSTRAINT towers_geom_valid CHECK (public.ST_IsValid(geom)),
  key_id text,
  changed_at timestamptz NOT NULL DEFAULT now()
)""",
            "CREATE INDEX towers_geom_gist ON towers USING gist (geom)",
            """CREATE TABLE observations (
  obs_id text PRIMARY KEY,
  observed_at timestamptz NOT NULL,
  intensity double precision NOT NULL,
  source text NOT NULL,
  confidence double precision,
  microbial_balance double precision,
  tower_id text,
  tier integer,
  height_ellipsoid_m double precision,
  received_at timestamptz NOT NULL,
  key_id text,
  geom public.geometry(Point, 4326) NOT NULL
    CONSTRAINT observations_geom_valid CHECK (public.ST_IsValid(geom))
)""",
            "CREATE INDEX observations_geom_gist ON observations USING gist (geom)",
            "CREATE INDEX observations_observed_at_brin ON observations USING brin (observed_at)",
            "CREATE INDEX observations_time_id ON observations (observed_at, obs_id)",
            "CREATE INDEX observations_tower ON observations (tower_id, observed_at)",
            """CREATE TABLE treatments (
  treatment_id text PRIMARY KEY,
  strain text NOT NULL,
  dose_l_per_m2 double precision NOT NULL,
  applied_at timestamptz NOT NULL,
  zone_id text,
  notes text NOT NULL DEFAULT '',
  recorded_at timestamptz NOT NULL,
  key_id text,
  geom public.geometry(MultiPolygon, 4326) NOT NULL
    CONSTRAINT treatments_geom_valid CHECK (public.ST_IsValid(geom))
)""",
            "CREATE INDEX treatments_geom_gist ON treatments USING gist (geom)",
            "CREATE INDEX treatments_applied_at ON treatments (applied_at, treatment_id)",
            """CREATE TABLE api_keys (
  key_id text PRIMARY KEY,
  role text NOT NULL,
  digest_hex text NOT NULL UNIQUE,
  label text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  revoked boolean NOT NULL DEFAULT false,
  scopes jsonb
)""",
            """CREATE TABLE audit (
  seq bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  key_id text,
  action text NOT NULL,
  target text NOT NULL,
  detail jsonb NOT NULL
)""",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)"""


def _lock_key(schema: str) -> sql.Composed:
    return sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
        sql.Literal(f"blightmap-migrations:{schema}")
    )


def applied_version(connection: psycopg.Connection, schema: str) -> int:
    """The newest migration applied in ``schema`` (0 when none or no ledger yet)."""
    row = connection.execute(
        "SELECT to_regclass(format('%%I.schema_migrations', %s::text)) IS NOT NULL", (schema,)
    ).fetchone()
    if row is None or not row[0]:
        return 0
    found = connection.execute(
        sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_migrations").format(
            sql.Identifier(schema)
        )
    ).fetchone()
    return 0 if found is None else int(found[0])


def _ensure_postgis(connection: psycopg.Connection) -> None:
    """Create the PostGIS extension if it is missing and this role may create it."""
    present = connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
    if present is not None:
        return
    try:
        with connection.transaction():
            connection.execute("CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public")
    except psycopg.Error as exc:
        raise StoreError(
            "the PostGIS extension is not installed in this database and cannot be created "
            f"({exc.diag.message_primary or type(exc).__name__}); install postgresql-15-postgis-3"
            " and run CREATE EXTENSION postgis as a superuser"
        ) from exc


def upgrade(connection: psycopg.Connection, schema: str) -> list[int]:
    """Apply the missing migrations to ``schema``; return the versions applied now.

    ``connection`` must be in autocommit mode (each migration is one transaction).

    Raises
    ------
    StoreError
        If PostGIS is missing and cannot be created, or the schema was written by a
        newer blightmap (a version this code does not know).
    """
    _ensure_postgis(connection)
    applied: list[int] = []
    ident = sql.Identifier(schema)
    with connection.transaction():
        connection.execute(_lock_key(schema))
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        connection.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(ident))
        connection.execute(_LEDGER)
    for migration in MIGRATIONS:
        with connection.transaction():
            connection.execute(_lock_key(schema))
            connection.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(ident))
            current = applied_version(connection, schema)
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"schema {schema!r} was written by a newer blightmap "
                    f"(version {current}; this one knows {SCHEMA_VERSION})"
                )
            if current >= migration.version:
                continue
            for statement in migration.statements:
                connection.execute(statement.encode())
            connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
    if not applied and applied_version(connection, schema) > SCHEMA_VERSION:
        raise StoreError(f"schema {schema!r} was written by a newer blightmap")
    return applied
