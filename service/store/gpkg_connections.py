"""Connections to one GeoPackage file: a guarded writer, per-thread readers, WAL.

:class:`Connections` opens (and if need be initializes) the file and hands out short
transactions:

* :meth:`Connections.write` -- ``BEGIN IMMEDIATE`` ... ``COMMIT`` on the one writer
  connection, serialized by a :class:`threading.Lock`; ``synchronous=FULL`` makes the
  commit durable before the block is left; any exception rolls everything back.
* :meth:`Connections.read` -- a read transaction on this thread's read-only
  connection; in WAL mode it reads a consistent snapshot and neither blocks nor is
  blocked by the writer (nor by GDAL/QGIS in other processes). A thread's connection
  lives until :meth:`Connections.close`, which suits long-lived worker pools.

The WAL guard
-------------
GDAL (pyogrio, fiona, rasterio) bundles its own SQLite. POSIX locks do not separate
two SQLite libraries in one process, so when GDAL closes the live file *in this
process* it believes it is the last user: it checkpoints and deletes the ``-wal`` and
``-shm`` files. Our connections would then go on committing into a deleted WAL that no
other process sees and a crash would lose. The WAL file's identity is therefore checked
around every transaction; once it has changed, every call raises :class:`StoreError`
until the store is reopened (closing checkpoints what our connections committed). Read
the live file with GDAL from another process, or after :meth:`Connections.close`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.store.base import StoreError
from service.store.gpkg_geometry import register_sql_functions
from service.store.gpkg_rows import polygon_tower_footprints
from service.store.gpkg_schema import FileKind, create_schema, inspect_file, migrate

__all__ = ["BUSY_TIMEOUT_S", "Connections"]

BUSY_TIMEOUT_S = 5.0


@dataclass(slots=True)
class _Reader:
    """A per-thread read-only connection; ``lock`` lets :meth:`Connections.close` wait."""

    connection: sqlite3.Connection
    lock: threading.Lock


def _connect(uri: str) -> sqlite3.Connection:
    """Open ``uri`` in autocommit mode with the ST_* functions and the common pragmas.

    ``check_same_thread=False``: the writer is guarded by the write lock and each
    reader by its own lock (and used by its own thread only).
    """
    connection = sqlite3.connect(
        uri,
        uri=True,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        register_sql_functions(connection)
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_dev, status.st_ino)


class Connections:
    """The writer and the readers of one blightmap GeoPackage file.

    Parameters
    ----------
    path : Path
        The file. Missing or empty: initialized. A blightmap GeoPackage: opened as it
        is (switched to WAL if a tool switched it back).

    Raises
    ------
    StoreError
        If the file cannot be opened or is not a blightmap GeoPackage.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        resolved = self.path.resolve()
        self._uri = resolved.as_uri()
        self._wal_path = Path(f"{resolved}-wal")
        self._write_lock = threading.Lock()
        self._readers_lock = threading.Lock()
        self._readers: list[_Reader] = []
        self._local = threading.local()
        self._closed = False
        self._broken: str | None = None
        self._writer = self._open_writer()
        self._wal_identity = _file_identity(self._wal_path)
        if self._wal_identity is None:
            self._writer.close()
            raise StoreError(f"{self.path.name}: SQLite did not create its WAL file")

    # -- opening and closing -----------------------------------------------
    def _open_writer(self) -> sqlite3.Connection:
        try:
            connection = _connect(self._uri + "?mode=rwc")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path.name}: {exc}") from exc
        try:
            kind = inspect_file(connection)
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode != "wal":
                raise StoreError(f"cannot switch {self.path.name} to WAL (mode {mode})")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA cache_size = -65536")
            if kind is not FileKind.OURS:
                self._initialize(connection)
                # GDAL identifies a GeoPackage by the application_id in the file header
                # on disk; in WAL mode the new header is still in the WAL until now.
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("SELECT count(*) FROM blightmap_meta").fetchone()  # opens the WAL
        except (sqlite3.Error, ValueError) as exc:
            connection.close()
            reason = f"{self.path.name} is not usable as a blightmap store: {exc}"
            raise StoreError(reason) from exc
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _initialize(connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have initialized the file since we looked.
            kind = inspect_file(connection)
            if kind is FileKind.EMPTY:
                create_schema(connection)
            elif kind is FileKind.OUTDATED:
                polygon_tower_footprints(connection)
                migrate(connection)
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")

    def close(self) -> None:
        """Close every connection; later transactions raise :class:`StoreError`. Idempotent."""
        with self._readers_lock:
            if self._closed:
                return
            self._closed = True
            readers, self._readers = self._readers, []
        for reader in readers:
            with reader.lock:
                reader.connection.close()
        # The writer closes last: as the last connection it checkpoints the WAL into
        # the database file and removes the WAL.
        with self._write_lock:
            self._writer.close()

    # -- guards ------------------------------------------------------------
    def _check(self) -> None:
        """Raise if closed, or if the WAL file was deleted or replaced (see module doc)."""
        if self._closed:
            raise StoreError("the store is closed")
        if self._broken is None and _file_identity(self._wal_path) != self._wal_identity:
            self._broken = (
                f"the WAL file of {self.path.name} was removed or replaced behind the "
                "store's back, most likely by GDAL (pyogrio, fiona) opening the live file "
                "in this process; reopen the store (closing it saves what it committed)"
            )
        if self._broken is not None:
            raise StoreError(self._broken)

    # -- transactions ------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception.

        Raises
        ------
        StoreError
            On SQLite errors (constraint violations included), when closed, or when the
            WAL guard trips (then even after a commit: see the module doc).
        """
        with self._write_lock:
            self._check()
            connection = self._writer
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"writing {self.path.name} failed: {exc}") from exc
            finally:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            self._check()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot."""
        reader = self._reader()
        with reader.lock:
            self._check()
            connection = reader.connection
            try:
                connection.execute("BEGIN")
                yield connection
            except sqlite3.Error as exc:
                raise StoreError(f"reading {self.path.name} failed: {exc}") from exc
            finally:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")

    def _reader(self) -> _Reader:
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is not None:
            return reader
        with self._readers_lock:
            self._check()
            try:
                connection = _connect(self._uri + "?mode=ro")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open {self.path.name}: {exc}") from exc
            reader = _Reader(connection, threading.Lock())
            self._readers.append(reader)
        self._local.reader = reader
        return reader
