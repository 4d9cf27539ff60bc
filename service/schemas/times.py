"""Timestamps in request bodies: RFC 3339 with a timezone, representable in UTC.

The plausible range (not before ``earliest_time_utc``, not more than
``future_tolerance_s`` ahead) depends on settings and is checked by
:mod:`service.ingest`; this type only guarantees that the instant exists in UTC, so
that converting it can never fail later (``0001-01-01T00:00:00+01:00`` is year 0 in
UTC, which Python's datetime cannot hold).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

__all__ = ["UtcDatetime"]


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the years 0001 to 9999 once converted to UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An aware datetime, converted to UTC; instants outside years 1-9999 in UTC are refused."""
