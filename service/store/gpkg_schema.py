"""DDL of the blightmap GeoPackage: the GeoPackage 1.3 core tables, the two feature
layers with their rtree spatial indexes, and blightmap's own non-spatial tables.

The statements follow the GeoPackage 1.3 specification: Annex C for
the table definitions, Annex F.3 for the rtree extension, F.9 for the schema
extension. :func:`create_schema` runs inside the caller's transaction;
:func:`inspect_file` tells an empty database, one of ours and anything else apart.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum

from service.store.gpkg_repair import repair_timestamps

__all__ = [
    "APPLICATION_ID",
    "LAYERS",
    "OBSERVATIONS",
    "SCHEMA_VERSION",
    "SRS_ID",
    "TOWERS",
    "TREATMENTS",
    "USER_VERSION",
    "FileKind",
    "Layer",
    "create_schema",
    "inspect_file",
    "migrate",
]

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
SCHEMA_VERSION = 5  # blightmap's own table layout, in blightmap_meta
# 2: treatments; 3: timestamps rewritten zero padded (see gpkg_repair);
# 4: provenance (key_id of the writer on every feature row), key scopes, audit table;
# 5: POLYGON towers
SRS_ID = 4326

# Accepted when opening: GeoPackage 1.2 .. 1.4 (GDAL/QGIS may upgrade a file they edit).
_MIN_USER_VERSION = 10200
_MAX_USER_VERSION = 10499


@dataclass(frozen=True, slots=True)
class Layer:
    """A feature table as registered in ``gpkg_contents``/``gpkg_geometry_columns``."""

    table: str
    geometry_type: str
    z: int
    description: str
    columns: str
    indexes: tuple[str, ...] = ()
    json_columns: tuple[str, ...] = ()
    since_schema: int = 1

    @property
    def rtree(self) -> str:
        """Name of the rtree virtual table indexing the ``geom`` column."""
        return f"rtree_{self.table}_geom"


TOWERS = Layer(
    table="towers",
    geometry_type="POLYGON",
    z=0,
    description="Farm towers: footprints (Polygon) with their tiers",
    columns="""
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  geom POLYGON NOT NULL,
  tower_id TEXT NOT NULL UNIQUE,
  name TEXT,
  district TEXT,
  base_height_m REAL,
  height_m REAL,
  tier_count INTEGER,
  tiers TEXT,
  extra TEXT,
  key_id TEXT""",
    json_columns=("tiers", "extra"),
)

OBSERVATIONS = Layer(
    table="observations",
    geometry_type="POINT",
    z=2,  # optional: POINT Z where the client sent a height, POINT otherwise
    description="Plant-health observations",
    columns="""
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  geom POINT NOT NULL,
  obs_id TEXT NOT NULL UNIQUE,
  observed_at DATETIME NOT NULL,
  intensity REAL NOT NULL,
  source TEXT NOT NULL,
  confidence REAL,
  microbial_balance REAL,
  tower_id TEXT,
  tier INTEGER,
  height_ellipsoid_m REAL,
  received_at DATETIME,
  key_id TEXT""",
    indexes=(
        "CREATE INDEX observations_observed_at_idx ON observations (observed_at, obs_id)",
        "CREATE INDEX observations_tower_id_idx ON observations (tower_id, observed_at)",
    ),
)

TREATMENTS = Layer(
    table="treatments",
    geometry_type="MULTIPOLYGON",
    z=0,
    description="Microbial treatments applied by planners",
    columns="""
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  geom MULTIPOLYGON NOT NULL,
  treatment_id TEXT NOT NULL UNIQUE,
  strain TEXT NOT NULL,
  dose_l_per_m2 REAL NOT NULL,
  applied_at DATETIME NOT NULL,
  zone_id TEXT,
  notes TEXT,
  recorded_at DATETIME,
  key_id TEXT""",
    indexes=("CREATE INDEX treatments_applied_at_idx ON treatments (applied_at)",),
    since_schema=2,
)

LAYERS = (TOWERS, OBSERVATIONS, TREATMENTS)

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

# The three rows every GeoPackage must hold (GeoPackage 1.3, Requirement 11).
_SPATIAL_REF_SYS_ROWS = (
    (
        "WGS 84 geodetic",
        4326,
        "EPSG",
        4326,
        _WGS84_WKT,
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    ),
    (
        "Undefined cartesian SRS",
        -1,
        "NONE",
        -1,
        "undefined",
        "undefined cartesian coordinate reference system",
    ),
    (
        "Undefined geographic SRS",
        0,
        "NONE",
        0,
        "undefined",
        "undefined geographic coordinate reference system",
    ),
)

_CORE_DDL = (
    """CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition  TEXT NOT NULL,
  description TEXT
)""",
    """CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
)""",
    """CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
)""",
    """CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
)""",
    """CREATE TABLE gpkg_data_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  name TEXT,
  title TEXT,
  description TEXT,
  mime_type TEXT,
  constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name)
)""",
    """CREATE TABLE gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL,
  constraint_type TEXT NOT NULL,
  value TEXT,
  min NUMERIC,
  min_is_inclusive BOOLEAN,
  max NUMERIC,
  max_is_inclusive BOOLEAN,
  description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value)
)""",
)

_AUDIT_DDL = """CREATE TABLE blightmap_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  at DATETIME NOT NULL,
  key_id TEXT,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT
)"""

# Schema 4 on a schema 1-3 file: the provenance columns, key scopes, the audit table.
# (Layers created by this migration already have key_id.)
_PROVENANCE_COLUMNS = (("towers", "key_id"), ("observations", "key_id"), ("treatments", "key_id"))

_OWN_DDL = (
    """CREATE TABLE blightmap_meta (
  key TEXT NOT NULL PRIMARY KEY,
  value TEXT
)""",
    """CREATE TABLE blightmap_keys (
  key_id TEXT NOT NULL PRIMARY KEY,
  role TEXT NOT NULL,
  digest_hex TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  scopes TEXT
)""",
    _AUDIT_DDL,
)

_SCHEMA_EXTENSION = "http://www.geopackage.org/spec/#extension_schema"
_RTREE_EXTENSION = "http://www.geopackage.org/spec/#extension_rtree"

# GeoPackage 1.3 Annex F.3, verbatim; <t>, <c>, <i> are substituted.
_RTREE_TRIGGERS = (
    """CREATE TRIGGER rtree_<t>_<c>_insert AFTER INSERT ON <t>
  WHEN (new.<c> NOT NULL AND NOT ST_IsEmpty(NEW.<c>))
BEGIN
  INSERT OR REPLACE INTO rtree_<t>_<c> VALUES (
    NEW.<i>,
    ST_MinX(NEW.<c>), ST_MaxX(NEW.<c>),
    ST_MinY(NEW.<c>), ST_MaxY(NEW.<c>)
  );
END""",
    """CREATE TRIGGER rtree_<t>_<c>_update1 AFTER UPDATE OF <c> ON <t>
  WHEN OLD.<i> = NEW.<i> AND
       (NEW.<c> NOTNULL AND NOT ST_IsEmpty(NEW.<c>))
BEGIN
  INSERT OR REPLACE INTO rtree_<t>_<c> VALUES (
    NEW.<i>,
    ST_MinX(NEW.<c>), ST_MaxX(NEW.<c>),
    ST_MinY(NEW.<c>), ST_MaxY(NEW.<c>)
  );
END""",
    """CREATE TRIGGER rtree_<t>_<c>_update2 AFTER UPDATE OF <c> ON <t>
  WHEN OLD.<i> = NEW.<i> AND
       (NEW.<c> ISNULL OR ST_IsEmpty(NEW.<c>))
BEGIN
  DELETE FROM rtree_<t>_<c> WHERE id = OLD.<i>;
END""",
    """CREATE TRIGGER rtree_<t>_<c>_update3 AFTER UPDATE ON <t>
  WHEN OLD.<i> != NEW.<i> AND
       (NEW.<c> NOTNULL AND NOT ST_IsEmpty(NEW.<c>))
BEGIN
  DELETE FROM rtree_<t>_<c> WHERE id = OLD.<i>;
  INSERT OR REPLACE INTO rtree_<t>_<c> VALUES (
    NEW.<i>,
    ST_MinX(NEW.<c>), ST_MaxX(NEW.<c>),
    ST_MinY(NEW.<c>), ST_MaxY(NEW.<c>)
  );
END""",
    """CREATE TRIGGER rtree_<t>_<c>_update4 AFTER UPDATE ON <t>
  WHEN OLD.<i> != NEW.<i> AND
       (NEW.<c> ISNULL OR ST_IsEmpty(NEW.<c>))
BEGIN
  DELETE FROM rtree_<t>_<c> WHERE id IN (OLD.<i>, NEW.<i>);
END""",
    """CREATE TRIGGER rtree_<t>_<c>_delete AFTER DELETE ON <t>
  WHEN old.<c> NOT NULL
BEGIN
  DELETE FROM rtree_<t>_<c> WHERE id = OLD.<i>;
END""",
)


def _rtree_statements(layer: Layer) -> list[str]:
    """The virtual table and the six triggers of the rtree index on ``layer.geom``."""
    statements = [f"CREATE VIRTUAL TABLE {layer.rtree} USING rtree(id, minx, maxx, miny, maxy)"]
    for template in _RTREE_TRIGGERS:
        statements.append(
            template.replace("<t>", layer.table).replace("<c>", "geom").replace("<i>", "fid")
        )
    return statements


def create_schema(connection: sqlite3.Connection) -> None:
    """Create every table, index, trigger and registration in an empty database.

    Runs inside the caller's transaction (PRAGMA application_id/user_version are
    transactional too). The caller must have registered the ``ST_*`` functions.
    """
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {USER_VERSION}")
    for ddl in (*_CORE_DDL, *_OWN_DDL):
        connection.execute(ddl)
    connection.executemany(
        "INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
        "organization_coordsys_id, definition, description) VALUES (?, ?, ?, ?, ?, ?)",
        _SPATIAL_REF_SYS_ROWS,
    )
    for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        connection.execute(
            "INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', ?, 'read-write')",
            (table, _SCHEMA_EXTENSION),
        )
    for layer in LAYERS:
        _create_layer(connection, layer)
    connection.executemany(
        "INSERT INTO blightmap_meta (key, value) VALUES (?, ?)",
        [("schema_version", str(SCHEMA_VERSION)), ("data_version", "0"), ("towers_version", "0")],
    )


def _create_layer(connection: sqlite3.Connection, layer: Layer) -> None:
    connection.execute(f"CREATE TABLE {layer.table} ({layer.columns}\n)")
    for ddl in layer.indexes:
        connection.execute(ddl)
    connection.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
        "VALUES (?, 'features', ?, ?, ?)",
        (layer.table, layer.table, layer.description, SRS_ID),
    )
    connection.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, ?, 0)",
        (layer.table, layer.geometry_type, SRS_ID, layer.z),
    )
    for statement in _rtree_statements(layer):
        connection.execute(statement)
    connection.execute(
        "INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', ?, 'write-only')",
        (layer.table, _RTREE_EXTENSION),
    )
    connection.executemany(
        "INSERT INTO gpkg_data_columns (table_name, column_name, name, mime_type) "
        "VALUES (?, ?, ?, 'application/json')",
        [(layer.table, column, column) for column in layer.json_columns],
    )


def _add_provenance(connection: sqlite3.Connection) -> None:
    """Schema 4: ``key_id`` on the feature tables, ``scopes`` on keys, the audit table.

    Rows written before have ``key_id`` NULL: their writer was not recorded.
    """
    for table, column in (*_PROVENANCE_COLUMNS, ("blightmap_keys", "scopes")):
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
    connection.execute(_AUDIT_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))


class FileKind(Enum):
    """What :func:`inspect_file` found."""

    EMPTY = "empty"
    OURS = "ours"
    OUTDATED = "outdated"  # ours, written by an older schema: :func:`migrate` brings it up


def inspect_file(connection: sqlite3.Connection) -> FileKind:
    """Classify the database behind ``connection`` without changing it.

    Returns
    -------
    FileKind
        ``EMPTY`` for a database without any schema object, ``OURS`` for a
        blightmap GeoPackage this code can use.

    Raises
    ------
    ValueError
        With the reason, for anything else (another application's SQLite file, a
        foreign GeoPackage, a newer blightmap layout).
    sqlite3.DatabaseError
        If the file is not an SQLite database at all.
    """
    (application_id,) = connection.execute("PRAGMA application_id").fetchone()
    (user_version,) = connection.execute("PRAGMA user_version").fetchone()
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    if not names and application_id == 0 and user_version == 0:
        return FileKind.EMPTY
    if application_id != APPLICATION_ID:
        raise ValueError(f"not a GeoPackage (application_id is {application_id:#010x})")
    if not _MIN_USER_VERSION <= user_version <= _MAX_USER_VERSION:
        raise ValueError(f"unsupported GeoPackage version (user_version {user_version})")
    if "blightmap_meta" not in names:
        raise ValueError("a GeoPackage, but not a blightmap store (no blightmap_meta table)")
    meta = dict(connection.execute("SELECT key, value FROM blightmap_meta").fetchall())
    version = meta.get("schema_version")
    if version is None or not version.isdigit() or "data_version" not in meta:
        raise ValueError("blightmap_meta lacks schema_version or data_version")
    if int(version) > SCHEMA_VERSION:
        raise ValueError(f"written by a newer blightmap (schema_version {version})")
    layers = [layer for layer in LAYERS if layer.since_schema <= int(version)]
    registered = {
        row[0]
        for row in connection.execute(
            "SELECT table_name FROM gpkg_geometry_columns WHERE column_name = 'geom'"
        )
    }
    expected = {layer.table for layer in layers} | {"blightmap_keys"}
    missing = sorted((expected - names) | ({layer.table for layer in layers} - registered))
    if missing:
        raise ValueError(f"blightmap tables missing or unregistered: {', '.join(missing)}")
    return FileKind.OURS if int(version) == SCHEMA_VERSION else FileKind.OUTDATED


def migrate(connection: sqlite3.Connection) -> None:
    """Bring an :attr:`FileKind.OUTDATED` store up to :data:`SCHEMA_VERSION`.

    Runs inside the caller's write transaction; adds the layers introduced since the
    file's schema version, runs the later repairs (3: timestamps zero padded, see
    :mod:`service.store.gpkg_repair`; a repair that changes rows bumps
    ``data_version``, so nothing cached for the old content is reused) and records the
    new version. From schema 5 the towers layer is registered as POLYGON: the caller
    rewrites stored Point footprints first
    (:func:`service.store.gpkg_rows.polygon_tower_footprints`).
    """
    (text,) = connection.execute(
        "SELECT value FROM blightmap_meta WHERE key = 'schema_version'"
    ).fetchone()
    version = int(text)
    for layer in LAYERS:
        if layer.since_schema > version:
            _create_layer(connection, layer)
    if version < 3 and repair_timestamps(connection):
        connection.execute(
            "UPDATE blightmap_meta SET value = CAST(value AS INTEGER) + 1 "
            "WHERE key = 'data_version'"
        )
    if version < 4:
        _add_provenance(connection)
    if version < 5:
        connection.execute(
            "UPDATE gpkg_geometry_columns SET geometry_type_name = ? WHERE table_name = ?",
            (TOWERS.geometry_type, TOWERS.table),
        )
    connection.execute(
        "UPDATE blightmap_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
    )
