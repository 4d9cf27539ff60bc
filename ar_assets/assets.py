"""Content-addressed GLB assets: ids from the bytes, and a bounded in-memory store.

An asset's id is the first 32 hex digits (128 bits) of the SHA-256 of its bytes, so
equal bytes share one id and one URL, and a URL never changes meaning: clients and
HTTP caches may keep an asset forever.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict

from geo.errors import InvalidParameter

__all__ = ["ASSET_ID_LENGTH", "AssetStore", "asset_href", "asset_id"]

ASSET_ID_LENGTH = 32
"""Hex digits of an asset id."""

_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")


def asset_id(glb_bytes: bytes) -> str:
    """The content hash of an asset: the first 32 hex digits of its SHA-256."""
    return hashlib.sha256(glb_bytes).hexdigest()[:ASSET_ID_LENGTH]


def asset_href(asset_hash: str) -> str:
    """The URL path under which the service serves an asset: ``/assets/<hash>.glb``."""
    return f"/assets/{asset_hash}.glb"


class AssetStore:
    """A thread-safe, in-memory LRU map from asset id to GLB bytes, bounded in bytes.

    :meth:`put` and :meth:`get` mark an asset as recently used; when the stored
    bytes exceed ``max_bytes`` the least recently used assets are dropped (never the
    one just put, even if it alone is larger than the bound). The overlay builders
    put every live asset again on each rebuild, so live assets stay recent; size
    the bound above the working set of one district.

    Parameters
    ----------
    max_bytes : int
        Upper bound of the sum of the stored assets' sizes (default 256 MiB).

    Raises
    ------
    InvalidParameter
        If ``max_bytes`` is not positive.
    """

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        if max_bytes <= 0:
            raise InvalidParameter("must be a positive number of bytes", "max_bytes")
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    def put(self, glb_bytes: bytes) -> str:
        """Store an asset (idempotent) and return its href ``/assets/<hash>.glb``."""
        data = bytes(glb_bytes)
        key = asset_id(data)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            else:
                self._items[key] = data
                self._nbytes += len(data)
                self._evict(keep=key)
        return asset_href(key)

    def get(self, asset_hash: str) -> bytes | None:
        """The bytes of an asset, or None if unknown or evicted."""
        if not _ASSET_ID.match(asset_hash):
            return None
        with self._lock:
            data = self._items.get(asset_hash)
            if data is not None:
                self._items.move_to_end(asset_hash)
            return data

    def __contains__(self, asset_hash: object) -> bool:
        with self._lock:
            return asset_hash in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        """Total size of the stored assets."""
        with self._lock:
            return self._nbytes

    def _evict(self, keep: str) -> None:
        while self._nbytes > self.max_bytes and len(self._items) > 1:
            oldest = next(iter(self._items))
            if oldest == keep:
                break
            self._nbytes -= len(self._items.pop(oldest))
