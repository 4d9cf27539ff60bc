"""The repository interface every storage backend implements.

The embedded default is a GeoPackage file (:mod:`service.store.gpkg`); a PostGIS
backend implements the same class. Nothing outside an adapter knows its SQL dialect.

Durability contract: a write method returns only after its data is committed
durably; a write either applies completely or not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geo.layer import Tower
from geo.observations import Observation
from geo.treatments import Treatment

__all__ = [
    "AlreadyExists",
    "AuditRecord",
    "ConflictingObservations",
    "IngestResult",
    "KeyRecord",
    "NotFound",
    "ObservationPage",
    "ObservationQuery",
    "Store",
    "StoreError",
]


class StoreError(Exception):
    """Base of the storage errors."""


class NotFound(StoreError):
    """The addressed record does not exist."""


class AlreadyExists(StoreError):
    """A record with that identifier already exists."""


class ConflictingObservations(AlreadyExists):
    """Ids already stored with other content; nothing of the batch was written.

    ``conflicts`` holds ``(index in the batch, digest of the stored observation)``
    (see :func:`geo.observations.observation_digest`).
    """

    def __init__(self, conflicts: Sequence[tuple[int, str]]) -> None:
        super().__init__(f"{len(conflicts)} observation id(s) already stored with other content")
        self.conflicts = list(conflicts)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Outcome of an idempotent observation write."""

    new: int
    known: int


@dataclass(frozen=True, slots=True)
class ObservationQuery:
    """Selection of observations; ``None`` means unbounded.

    ``start``/``end`` are inclusive UTC instants on ``observed_at``.
    Results are ordered by ``observed_at`` then ``id`` so that paging is stable.
    """

    bbox_wgs84: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    tower_id: str | None = None
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ObservationPage:
    """One page of a query with the total number of matches."""

    items: list[Observation]
    number_matched: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key as stored: never the key itself, only its SHA-256 digest."""

    key_id: str
    role: str
    digest_hex: str
    created_at: datetime
    label: str = ""
    revoked: bool = False
    #: Scopes of a sensor key: the only sources / towers it may report; None: any.
    sources: tuple[str, ...] | None = None
    tower_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who (key id; ``None`` for the command line) did what to which record, when."""

    seq: int
    at: datetime
    key_id: str | None
    action: str
    target: str
    detail: dict[str, Any]


class Store(ABC):
    """Durable storage of towers, observations and API keys."""

    kind: str = "abstract"

    # -- lifecycle ---------------------------------------------------------
    @abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    @abstractmethod
    def describe(self) -> dict[str, str]:
        """Kind and location of the store, for ``/healthz`` (never credentials)."""

    @abstractmethod
    def data_version(self) -> int:
        """A counter that increases with every committed change of towers or observations."""

    @abstractmethod
    def towers_version(self) -> int:
        """A counter that increases with every committed change of towers (only)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of towers, observations and active keys."""

    # -- towers ------------------------------------------------------------
    @abstractmethod
    def list_towers(self) -> list[Tower]:
        """Every tower, ordered by id."""

    @abstractmethod
    def get_tower(self, tower_id: str) -> Tower | None:
        """One tower or ``None``."""

    @abstractmethod
    def create_tower(self, tower: Tower, key_id: str | None = None) -> None:
        """Insert a new tower; raises :class:`AlreadyExists` if its id is taken.

        ``key_id`` (in every write method) is the id of the API key that writes, kept
        with the row as its provenance; ``None`` for local tools (command line, demo).
        """

    @abstractmethod
    def replace_tower(self, tower: Tower, key_id: str | None = None) -> None:
        """Replace an existing tower; raises :class:`NotFound` if it does not exist."""

    @abstractmethod
    def delete_tower(self, tower_id: str, key_id: str | None = None) -> None:
        """Delete a tower, recording who did it in the audit log.

        Raises :class:`NotFound` if it does not exist.
        """

    @abstractmethod
    def upsert_towers(self, towers: Sequence[Tower], key_id: str | None = None) -> tuple[int, int]:
        """Insert or replace many towers in one transaction; returns (created, replaced)."""

    # -- observations ------------------------------------------------------
    @abstractmethod
    def add_observations(
        self, observations: Sequence[Observation], key_id: str | None = None
    ) -> IngestResult:
        """Insert observations whose ids are not yet stored, in one durable transaction.

        Ids already stored with the same content are counted as ``known`` and left
        untouched; an id stored (or repeated in the batch) with other content raises
        :class:`ConflictingObservations` and nothing is written.
        """

    @abstractmethod
    def delete_observation(self, observation_id: str, key_id: str | None) -> Observation:
        """Delete one observation and record who did it in the audit log.

        Returns the deleted observation; raises :class:`NotFound` if there is none.
        """

    @abstractmethod
    def get_observation(self, observation_id: str) -> Observation | None:
        """One observation or ``None``."""

    @abstractmethod
    def query_observations(self, query: ObservationQuery) -> ObservationPage:
        """A page of observations matching ``query`` and the total number of matches."""

    @abstractmethod
    def latest_observation_time(self) -> datetime | None:
        """``observed_at`` of the newest observation, or ``None`` when there is none."""

    @abstractmethod
    def observation_time_range(self) -> tuple[datetime, datetime] | None:
        """``observed_at`` of the oldest and the newest observation, or ``None``."""

    # -- treatments --------------------------------------------------------
    @abstractmethod
    def add_treatment(self, treatment: Treatment, key_id: str | None = None) -> None:
        """Record an applied treatment; raises :class:`AlreadyExists` if its id is taken."""

    @abstractmethod
    def get_treatment(self, treatment_id: str) -> Treatment | None:
        """One treatment or ``None``."""

    @abstractmethod
    def list_treatments(self) -> list[Treatment]:
        """Every treatment, ordered by ``applied_at`` then id."""

    # -- provenance and audit ----------------------------------------------
    @abstractmethod
    def written_by(self, layer: str, feature_id: str) -> str | None:
        """Key id that wrote a ``towers``/``observations``/``treatments`` row, if recorded.

        Raises :class:`NotFound` if there is no such row.
        """

    @abstractmethod
    def audit_log(self, limit: int = 100) -> list[AuditRecord]:
        """The newest audit records, newest first."""

    # -- keys --------------------------------------------------------------
    @abstractmethod
    def add_key(self, record: KeyRecord) -> None:
        """Store a new key record."""

    @abstractmethod
    def find_key(self, digest_hex: str) -> KeyRecord | None:
        """The active (not revoked) key with this digest, or ``None``."""

    @abstractmethod
    def list_keys(self) -> list[KeyRecord]:
        """Every key record, revoked ones included, ordered by creation time."""

    @abstractmethod
    def revoke_key(self, key_id: str) -> None:
        """Revoke a key; raises :class:`NotFound` if it does not exist."""
