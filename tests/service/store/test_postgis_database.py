"""What is particular to the PostGIS store: migrations, indexes, guards, connections, the
command line and durability across a killed process (the Store contract itself is
checked on both backends by the ``test_store_*`` modules)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from service.app import open_store
from service.cli import main
from service.settings import Settings
from service.store.base import StoreError
from service.store.postgis import PostGISStore
from service.store.postgis_connections import upgrade_database
from service.store.postgis_schema import SCHEMA_VERSION
from tests.conftest import make_tower
from tests.postgis import postgis_schema
from tests.service.store.conftest import make_observation

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def target() -> Iterator[tuple[str, str]]:
    """``(url, schema)``: a schema name nobody uses yet, dropped after the test."""
    with postgis_schema() as url_schema:
        yield url_schema


def _query(url: str, schema: str, statement: str, params: tuple[object, ...] = ()) -> list:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        cursor = db.execute(statement.encode(), params)
        return cursor.fetchall() if cursor.description else []


def test_migrations_are_recorded_and_applied_once(target: tuple[str, str]) -> None:
    url, schema = target
    assert upgrade_database(url, schema) == list(range(1, SCHEMA_VERSION + 1))
    assert upgrade_database(url, schema) == []
    with PostGISStore(url, schema) as store:  # opening migrates nothing more
        assert store.data_version() == 0
    rows = _query(url, schema, "SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


def test_replicas_starting_together_migrate_once(target: tuple[str, str]) -> None:
    url, schema = target
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(upgrade_database(url, schema))
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results, key=len) == [[], [], [], list(range(1, SCHEMA_VERSION + 1))]


def test_a_schema_from_a_newer_blightmap_is_refused(target: tuple[str, str]) -> None:
    url, schema = target
    upgrade_database(url, schema)
    _query(url, schema, "INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    with pytest.raises(StoreError, match="newer blightmap"):
        PostGISStore(url, schema)


def test_geometry_and_time_indexes(target: tuple[str, str]) -> None:
    url, schema = target
    upgrade_database(url, schema)
    rows = _query(
        url,
        schema,
        "SELECT c.relname, am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am am ON am.oid = c.relam JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s",
        (schema,),
    )
    methods = dict(rows)
    for table in ("towers", "observations", "treatments"):
        assert methods[f"{table}_geom_gist"] == "gist"
    assert methods["observations_observed_at_brin"] == "brin"
    assert methods["observations_time_id"] == "btree"


def test_invalid_geometries_are_refused_by_the_database(target: tuple[str, str]) -> None:
    url, schema = target
    with PostGISStore(url, schema) as store:
        store.create_tower(make_tower(0))
    bowtie = "POLYGON((5 52, 5.001 52.001, 5.001 52, 5 52.001, 5 52))"
    with pytest.raises(psycopg.errors.CheckViolation, match="towers_geom_valid"):
        _query(
            url,
            schema,
            "UPDATE towers SET geom = ST_GeomFromText(%s, 4326) WHERE tower_id = 'T000'",
            (bowtie,),
        )


def test_a_snapshot_never_sees_data_without_its_version(target: tuple[str, str]) -> None:
    """data_version is bumped in the write's own transaction: in any snapshot, 100
    observations per version (each batch adds 100)."""
    url, schema = target
    pairs: list[tuple[int, int]] = []
    done = threading.Event()
    with PostGISStore(url, schema) as store:

        def read() -> None:
            with psycopg.connect(url) as db:
                db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                db.commit()
                while not done.is_set():
                    db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    (version,) = db.execute(
                        "SELECT value FROM meta WHERE key = 'data_version'"
                    ).fetchone() or (0,)
                    (count,) = db.execute("SELECT count(*) FROM observations").fetchone() or (0,)
                    db.commit()
                    pairs.append((int(version), int(count)))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for k in range(20):
                store.add_observations([make_observation(i) for i in range(k * 100, k * 100 + 100)])
        finally:
            done.set()
            reader.join(30)
    assert len(pairs) > 5
    assert all(count == 100 * version for version, count in pairs)


def test_describe_and_errors_never_show_the_password(target: tuple[str, str]) -> None:
    url, schema = target
    with_password = url.replace("postgres@", "postgres:s3cret-pw@")
    with PostGISStore(with_password, schema) as store:
        assert store.describe() == {
            "kind": "postgis",
            "location": "127.0.0.1:5432/test",
            "schema": schema,
        }
    unreachable = with_password.replace(":5432/", ":1/")
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1/test") as raised:
        PostGISStore(unreachable, schema, connect_timeout_s=2)
    assert "s3cret-pw" not in str(raised.value)


def test_settings_select_the_backend(target: tuple[str, str], tmp_path: Path) -> None:
    url, schema = target
    store = open_store(Settings(data_dir=tmp_path, database_url=url, database_schema=schema))
    try:
        assert isinstance(store, PostGISStore) and store.kind == "postgis"
    finally:
        store.close()
    embedded = open_store(Settings(data_dir=tmp_path))
    try:
        assert embedded.kind == "geopackage"
    finally:
        embedded.close()
    with pytest.raises(ValueError, match="database_url"):
        Settings(database_url="mysql://x@y/z")
    with pytest.raises(ValueError, match="database_schema"):
        Settings(database_schema='x"; DROP TABLE towers; --')


def test_db_upgrade_command(
    target: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, schema = target
    monkeypatch.setenv("BLIGHTMAP_DATABASE_URL", url)
    monkeypatch.setenv("BLIGHTMAP_DATABASE_SCHEMA", schema)
    assert main(["db", "upgrade"]) == 0
    assert f"migrations applied now: {', '.join(map(str, range(1, SCHEMA_VERSION + 1)))}" in (
        capsys.readouterr().out
    )
    assert main(["db", "upgrade"]) == 0
    assert "already up to date" in capsys.readouterr().out
    monkeypatch.delenv("BLIGHTMAP_DATABASE_URL")
    assert main(["db", "upgrade"]) == 2


_CHILD = """
import os, signal, sys
from service.store.postgis import PostGISStore
from tests.service.store.conftest import make_observation
store = PostGISStore(sys.argv[1], sys.argv[2])
result = store.add_observations([make_observation(i) for i in range(500)])
print(result.new, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close(): the backend loses its client mid-session
"""


def test_committed_data_survives_a_killed_process(target: tuple[str, str]) -> None:
    url, schema = target
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, url, schema],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    assert child.stdout.split() == ["500"]
    with PostGISStore(url, schema) as store:
        assert store.counts()["observations"] == 500
        assert store.data_version() == 1
        assert store.get_observation("obs-00499") == make_observation(499)


def test_a_terminated_database_session_is_replaced(target: tuple[str, str]) -> None:
    """The server's backends of the store are killed (a restart, an admin): the next
    call gets a fresh connection and everything committed is there."""
    url, schema = target
    with PostGISStore(url, schema, pool_size=2) as store:
        store.add_observations([make_observation(i) for i in range(10)])
        killed = _query(
            url,
            schema,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (f"blightmap:{schema}",),
        )
        assert killed and all(row[0] for row in killed)
        assert store.counts()["observations"] == 10
        assert store.add_observations([make_observation(10)]).new == 1
        assert store.data_version() == 2


def test_reads_run_in_read_only_snapshots_and_writes_do_not(target: tuple[str, str]) -> None:
    url, schema = target
    with PostGISStore(url, schema, pool_size=1) as store:  # one connection: reused by both
        with pytest.raises(StoreError, match="read-only"), store._pool.read() as cursor:
            cursor.execute("INSERT INTO meta (key, value) VALUES ('probe', 1)")
        with store._pool.read() as cursor:
            level = cursor.execute("SHOW transaction_isolation").fetchone()
        assert level == ("repeatable read",)
        store.create_tower(make_tower(0))  # the same connection writes again afterwards
        with store._pool.write() as cursor:
            level = cursor.execute("SHOW transaction_isolation").fetchone()
        assert level == ("read committed",)
        assert store.data_version() == 1
