"""Storage adapters behind one small repository interface (:class:`Store`)."""

from service.store.base import (
    AlreadyExists,
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
    "IngestResult",
    "KeyRecord",
    "NotFound",
    "ObservationPage",
    "ObservationQuery",
    "Store",
    "StoreError",
]
