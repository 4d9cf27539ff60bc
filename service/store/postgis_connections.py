"""The connection pool of the PostGIS store and its short transactions.

Every pooled connection is configured once: ``search_path`` to the store's schema (then
``public``, where PostGIS lives), ``TimeZone`` UTC (times come back in UTC, whatever
the server's default), and ``synchronous_commit = on`` whatever the server or role
says, so a ``COMMIT`` returns only once the WAL is flushed: an acknowledged write
survives a kill -9 of the service and of the server's backend.

* :meth:`Pool.write` -- one read-committed transaction; committed when the block ends,
  rolled back on any exception.
* :meth:`Pool.read` -- one ``REPEATABLE READ, READ ONLY`` transaction: every statement
  inside sees the same snapshot (a page and its ``numberMatched`` agree).

psycopg errors leave as :class:`~service.store.base.StoreError` with PostgreSQL's
message; the store's own errors (``NotFound``...) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import IsolationLevel, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from service.store.base import StoreError
from service.store.postgis_schema import upgrade

__all__ = ["Pool", "describe_url", "upgrade_database"]


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a connection URL: never the user's password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StoreError("the database URL is not a valid PostgreSQL connection string") from exc
    host = parts.get("host") or "localhost"
    return f"{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


def upgrade_database(url: str, schema: str, connect_timeout_s: float = 10.0) -> list[int]:
    """Apply the missing migrations of ``schema`` at ``url``; return the versions applied.

    Raises
    ------
    StoreError
        If the database cannot be reached, lacks PostGIS, or is newer than this code.
    """
    try:
        with psycopg.connect(
            url, autocommit=True, connect_timeout=max(1, round(connect_timeout_s))
        ) as connection:
            return upgrade(connection, schema)
    except psycopg.Error as exc:
        raise StoreError(f"cannot prepare PostgreSQL at {describe_url(url)}: {exc}") from exc


class Pool:
    """A psycopg connection pool bound to one schema of one database.

    ``session_setup`` statements run once on every new connection (after the settings
    above), e.g. to create session-long temporary tables.

    Raises
    ------
    StoreError
        If no connection can be opened within ``connect_timeout_s``.
    """

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        max_size: int = 10,
        connect_timeout_s: float = 10.0,
        session_setup: tuple[str, ...] = (),
    ) -> None:
        self.url = url
        self.schema = schema
        self._session_setup = session_setup
        self.location = describe_url(url)
        self._closed = False
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            configure=self._configure,
            # pg_stat_activity names the service and its schema
            kwargs={"application_name": f"blightmap:{schema}"[:63]},
            # a connection broken by a server restart is replaced, not handed out
            check=ConnectionPool.check_connection,
            timeout=connect_timeout_s * 3,
            open=False,
            name=f"blightmap-{schema}",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreError(f"cannot connect to PostgreSQL at {self.location}") from exc

    def _configure(self, connection: psycopg.Connection) -> None:
        connection.execute(
            sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema))
        )
        connection.execute("SET TimeZone TO 'UTC'")
        connection.execute("SET synchronous_commit TO on")
        for statement in self._session_setup:  # e.g. temporary staging tables
            connection.execute(statement.encode())
        connection.commit()

    def close(self) -> None:
        """Close every connection; later transactions raise :class:`StoreError`."""
        self._closed = True
        self._pool.close()

    def _check(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    @contextmanager
    def write(self) -> Iterator[psycopg.Cursor]:
        """A cursor in one write transaction, committed at the end of the block."""
        self._check()
        try:
            with self._pool.connection() as connection:
                connection.isolation_level = None  # the server's default: read committed
                connection.read_only = False
                with connection.transaction():
                    yield connection.cursor()
        except psycopg.Error as exc:
            raise StoreError(f"writing to {self.location} failed: {_reason(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[psycopg.Cursor]:
        """A cursor in one repeatable-read, read-only transaction."""
        self._check()
        try:
            with self._pool.connection() as connection:
                # one BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, no extra round trip
                connection.isolation_level = IsolationLevel.REPEATABLE_READ
                connection.read_only = True
                with connection.transaction():
                    yield connection.cursor()
        except psycopg.Error as exc:
            raise StoreError(f"reading from {self.location} failed: {_reason(exc)}") from exc


def _reason(exc: psycopg.Error) -> str:
    """PostgreSQL's primary message (with the constraint), or the exception's text."""
    diag = exc.diag
    message = diag.message_primary or str(exc).strip() or type(exc).__name__
    if diag.constraint_name:
        message += f" (constraint {diag.constraint_name})"
    return message
