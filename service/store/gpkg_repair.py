"""Repairs of rows written by older blightmap versions, run by the schema migration.

Before schema 3, timestamps were written with ``strftime("%Y")``, which glibc does
not zero pad: year 999 became ``999-06-01T00:00:00.000Z``. Such text cannot be
parsed back and sorts after every real date, so one row took the field, the towers,
the zones and the tiles down. :func:`repair_timestamps` rewrites every timestamp
column in the canonical fixed-width form of :func:`geo.observations.format_utc`. The
rows themselves are kept: they were acknowledged, and an admin can delete them
(``DELETE /collections/observations/items/{id}``).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

from geo.observations import format_utc

__all__ = ["CANONICAL_GLOB", "TIME_COLUMNS", "canonical_timestamp", "repair_timestamps"]

log = logging.getLogger("blightmap.store")

#: (table, timestamp column, key column) of every stored timestamp.
TIME_COLUMNS = (
    ("observations", "observed_at", "fid"),
    ("observations", "received_at", "fid"),
    ("treatments", "applied_at", "fid"),
    ("treatments", "recorded_at", "fid"),
    ("blightmap_keys", "created_at", "key_id"),
)

#: SQLite GLOB matching exactly the text :func:`format_utc` writes.
CANONICAL_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z"
)

_LOOSE = re.compile(
    r"\s*(\d{1,4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})"
    r"(?:\.(\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2})?\s*"
)


def canonical_timestamp(text: str) -> str | None:
    """``text`` rewritten as :func:`format_utc` writes it, or ``None`` if it is no time.

    Accepts what older versions and hand edits produce: unpadded years, fewer or more
    fraction digits, an offset instead of ``Z``, a space instead of ``T``. A time
    without an offset is taken as UTC.

    Examples
    --------
    >>> canonical_timestamp("999-06-01T00:00:00.000Z")
    '0999-06-01T00:00:00.000Z'
    """
    match = _LOOSE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, offset = match.group(7) or "0", match.group(8)
    tz = UTC
    if offset is not None and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime(
            year, month, day, hour, minute, second, int(fraction[:6].ljust(6, "0")), tzinfo=tz
        )
        return format_utc(moment)
    except (ValueError, OverflowError):
        return None


def repair_timestamps(connection: sqlite3.Connection) -> int:
    """Rewrite non-canonical timestamps in place; returns how many values changed.

    Runs inside the caller's write transaction. Values that are no time at all are
    left as they are and logged (with their row key, never the value).
    """
    repaired = 0
    for table, column, key in TIME_COLUMNS:
        rows = connection.execute(
            f"SELECT {key}, {column} FROM {table} "
            f"WHERE {column} IS NOT NULL AND {column} NOT GLOB ?",
            (CANONICAL_GLOB,),
        ).fetchall()
        for row_key, text in rows:
            fixed = canonical_timestamp(str(text))
            if fixed is None:
                log.warning(
                    "%s.%s of row %s is not a timestamp; left as is", table, column, row_key
                )
                continue
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (fixed, row_key))
            repaired += 1
    if repaired:
        log.warning("repaired %d timestamps written in a non-canonical form", repaired)
    return repaired
