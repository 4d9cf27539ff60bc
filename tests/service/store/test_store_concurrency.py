"""Readers and writers at the same time (both backends); GeoPackage connection details and
durability of the file across a killed process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from geo.observations import Observation
from service.store.base import IngestResult, ObservationQuery, Store, StoreError
from service.store.gpkg import GeoPackageStore
from service.store.gpkg_geometry import register_sql_functions
from service.store.gpkg_rows import OBSERVATION_WRITE_COLUMNS, observation_rows
from tests.service.store.conftest import make_observation, sql


def _batch(start: int, size: int) -> list[Observation]:
    return [make_observation(i) for i in range(start, start + size)]


def test_a_reader_thread_sees_only_whole_batches(store: Store) -> None:
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                page = store.query_observations(ObservationQuery(limit=1))
                seen.append((store.counts()["observations"], page.number_matched))
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for k in range(30):
            assert store.add_observations(_batch(k * 100, 100)) == IngestResult(100, 0)
    finally:
        done.set()
        reader.join(10)
    assert errors == []
    assert len(seen) > 10
    assert all(count % 100 == 0 and matched % 100 == 0 for count, matched in seen)
    counts = [count for count, _ in seen]
    assert counts == sorted(counts)  # never goes back
    assert store.counts()["observations"] == 3000


@pytest.mark.geopackage_only
def test_each_thread_reads_on_its_own_connection(store: GeoPackageStore) -> None:
    connections: list[int] = []

    def read() -> None:
        store.counts()
        connections.append(id(store._connections._local.reader.connection))

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    read()
    read()  # the same thread reuses its connection
    assert len(connections) == 5
    assert len(set(connections)) == 4


def test_an_open_read_snapshot_does_not_block_writes(store: Store, gpkg_path: Path) -> None:
    store.add_observations(_batch(0, 10))
    other = sqlite3.connect(gpkg_path, isolation_level=None)
    other.execute("BEGIN")
    assert other.execute("SELECT count(*) FROM observations").fetchone() == (10,)
    started = time.monotonic()
    store.add_observations(_batch(10, 10))
    assert time.monotonic() - started < 2.0  # no waiting for the reader (busy timeout: 5 s)
    assert other.execute("SELECT count(*) FROM observations").fetchone() == (10,)  # snapshot
    assert store.counts()["observations"] == 20
    other.execute("COMMIT")
    other.close()


def test_an_open_write_transaction_does_not_block_reads(store: Store, gpkg_path: Path) -> None:
    store.add_observations(_batch(0, 10))
    other = sqlite3.connect(gpkg_path, isolation_level=None)
    register_sql_functions(other)
    other.execute("BEGIN IMMEDIATE")
    columns = ", ".join(OBSERVATION_WRITE_COLUMNS)
    marks = ", ".join("?" * len(OBSERVATION_WRITE_COLUMNS))
    other.executemany(
        f"INSERT INTO observations ({columns}) VALUES ({marks})",
        observation_rows(_batch(10, 5), "2026-05-01T12:00:00.000Z"),
    )
    started = time.monotonic()
    assert store.counts()["observations"] == 10  # committed state only
    assert store.get_observation("obs-00012") is None
    assert time.monotonic() - started < 2.0
    other.execute("ROLLBACK")
    other.close()


def test_a_writer_in_another_connection_is_waited_for(store: Store, gpkg_path: Path) -> None:
    other = sqlite3.connect(gpkg_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    assert store.add_observations(_batch(0, 5)).new == 5  # waits for the lock (busy timeout)
    assert time.monotonic() - started >= 0.25
    release.join()
    other.close()


def test_writes_from_many_threads_are_serialized(store: Store, tmp_path: Path) -> None:
    results: list[IngestResult] = []
    lock = threading.Lock()

    def write(worker: int) -> None:
        for k in range(10):
            # every worker also re-sends the first 10 ids: known for all but one
            result = store.add_observations(
                _batch(0, 10) + _batch(1000 * (worker + 1) + 50 * k, 50)
            )
            with lock:
                results.append(result)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.new for r in results) == 10 + 4 * 10 * 50
    assert sum(r.known for r in results) == 4 * 10 * 60 - (10 + 4 * 10 * 50)
    assert store.counts()["observations"] == 2010
    assert store.data_version() == 40  # every transaction added something new
    if isinstance(store, GeoPackageStore):
        assert sql(tmp_path / "store.gpkg", "PRAGMA integrity_check") == [("ok",)]


def test_close_stops_reader_threads_cleanly(gpkg_path: Path) -> None:
    store = GeoPackageStore(gpkg_path)
    store.add_observations(_batch(0, 10))
    outcomes: list[str] = []
    opened = threading.Barrier(3)
    closed = threading.Event()

    def read() -> None:
        store.counts()
        opened.wait()
        closed.wait(10)
        try:
            store.counts()
            outcomes.append("read")
        except StoreError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    opened.wait()
    store.close()
    closed.set()
    for thread in threads:
        thread.join()
    assert outcomes == ["the store is closed"] * 2


ROOT = Path(__file__).resolve().parents[3]

_CHILD = """
import os, signal, sys
from pathlib import Path
from service.store.gpkg import GeoPackageStore
from tests.service.store.conftest import make_observation
store = GeoPackageStore(Path(sys.argv[1]))
result = store.add_observations([make_observation(i) for i in range(500)])
print(result.new, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no checkpoint
"""


def test_committed_data_survives_a_killed_process(gpkg_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(gpkg_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    assert child.stdout.split() == ["500"]
    assert gpkg_path.with_name("store.gpkg-wal").stat().st_size > 0  # still only in the WAL
    with GeoPackageStore(gpkg_path) as store:
        assert store.counts()["observations"] == 500
        assert store.data_version() == 1
    assert sql(gpkg_path, "PRAGMA integrity_check") == [("ok",)]


def test_readers_see_writes_immediately_after_return(store: Store) -> None:
    counts: list[int] = []

    def read() -> None:
        counts.append(store.counts()["observations"])

    for k in range(3):
        store.add_observations(_batch(k * 10, 10))
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    assert counts == [10, 20, 30]
