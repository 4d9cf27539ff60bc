"""Plant-health observations: the frozen domain type shared by every layer.

Observations are built by trusted adapters (the HTTP/file validators in
``service.schemas``, the stores, the demo simulator); range checks happen there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["Observation", "Source", "format_utc", "observation_digest", "parse_utc"]


class Source(StrEnum):
    """Who or what reported an observation."""

    SENSOR = "sensor"
    DRONE = "drone"
    PERSON = "person"
    MODEL = "model"


@dataclass(frozen=True, slots=True)
class Observation:
    """One report of plant health at a point.

    Attributes
    ----------
    id : str
        Client-chosen identifier, the idempotency key.
    lon, lat : float
        WGS84 degrees.
    height_ellipsoid_m : float or None
        Height above the WGS84 ellipsoid when the client sent a third coordinate.
    observed_at : datetime
        Timezone-aware, UTC.
    intensity : float
        Blight severity in [0, 1].
    source : Source
    confidence, microbial_balance : float or None
        In [0, 1] when present.
    tower_id, tier : optional
        The tower (and tier level) the observation is about.
    """

    id: str
    lon: float
    lat: float
    observed_at: datetime
    intensity: float
    source: Source
    height_ellipsoid_m: float | None = None
    confidence: float | None = None
    microbial_balance: float | None = None
    tower_id: str | None = None
    tier: int | None = None

    def properties(self) -> dict[str, Any]:
        """GeoJSON properties; optional members are present only when set."""
        props: dict[str, Any] = {
            "observed_at": format_utc(self.observed_at),
            "intensity": self.intensity,
            "source": self.source.value,
        }
        for name in ("confidence", "microbial_balance", "tower_id", "tier"):
            value = getattr(self, name)
            if value is not None:
                props[name] = value
        return props

    def coordinates(self) -> list[float]:
        """GeoJSON position: ``[lon, lat]`` or ``[lon, lat, h]``."""
        if self.height_ellipsoid_m is None:
            return [self.lon, self.lat]
        return [self.lon, self.lat, self.height_ellipsoid_m]


def observation_digest(observation: Observation) -> str:
    """``sha256:<hex>`` of an observation's content as the stores keep it.

    Covers the id, the position and every property, with numbers as floats and
    ``observed_at`` at the stores' millisecond precision, so an observation and its
    stored copy have the same digest, and any change of content changes it.
    """

    def number(value: float | None) -> float | None:
        return None if value is None else float(value)

    content = {
        "id": observation.id,
        "coordinates": [float(c) for c in observation.coordinates()],
        "observed_at": format_utc(observation.observed_at),
        "intensity": float(observation.intensity),
        "source": observation.source.value,
        "confidence": number(observation.confidence),
        "microbial_balance": number(observation.microbial_balance),
        "tower_id": observation.tower_id,
        "tier": observation.tier,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_utc(moment: datetime) -> str:
    """RFC 3339 UTC with millisecond precision, e.g. ``2026-11-26T13:05:00.250Z``.

    Always 24 characters, every part zero padded (year ``0999``, not ``999`` as
    ``strftime("%Y")`` writes it on glibc): the fixed width makes the text sort
    chronologically, which the stores rely on, and :func:`parse_utc` reads it back.

    Raises
    ------
    OverflowError
        If ``moment`` converted to UTC falls outside the years 1 to 9999.

    Examples
    --------
    >>> format_utc(datetime(999, 6, 1, tzinfo=UTC))
    '0999-06-01T00:00:00.000Z'
    """
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )


def parse_utc(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset) into an aware UTC datetime.

    Raises
    ------
    ValueError
        If the text is not RFC 3339, carries no timezone, or names an instant outside
        the years 1 to 9999 in UTC (``0001-01-01T00:00:00+01:00``).
    """
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (Z or +hh:mm)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp lies outside the years 0001 to 9999 in UTC") from None
