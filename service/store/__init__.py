"""Storage adapters behind one small repository interface (:class:`Store`)."""

from service.store.base import (
    AlreadyExists,
    AuditRecord,
    ConflictingObservations,
    IngestResult,
    KeyRecord,
    NotFound,
    ObservationPage,
    ObservationQuery,
    Store,
    StoreError,
)

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
