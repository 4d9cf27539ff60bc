"""Per-session buffers: the coalescing outbox and the bounded history for resume.

The :class:`Outbox` holds the changes a session has not been sent yet, one entry
per overlay id: a newer version replaces an older one, and a removal replaces a
pending upsert. Its size is therefore bounded by the overlays in view, whatever the
rate of updates; the hub marks a session stalled when the outbox still grows past
its limits (a client that reads nothing while overlays come and go).

The :class:`History` keeps the last stream messages (snapshot and deltas) a session
was handed, by offset, so that a client that reconnects can be replayed exactly
the messages after the last one it applied, or be told that this is impossible.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

__all__ = ["History", "Outbox"]

_REMOVE_COST = 16  # bytes charged for a pending removal besides its id


class Outbox:
    """Pending changes by overlay id: the upsert fragment (``bytes``) or ``None`` (remove)."""

    def __init__(self) -> None:
        self._pending: dict[str, bytes | None] = {}
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._pending)

    def __bool__(self) -> bool:
        return bool(self._pending)

    @staticmethod
    def _cost(overlay_id: str, fragment: bytes | None) -> int:
        return len(overlay_id) + (_REMOVE_COST if fragment is None else len(fragment))

    def _put(self, overlay_id: str, fragment: bytes | None) -> None:
        old = self._pending.get(overlay_id, b"")
        if overlay_id in self._pending:
            self.nbytes -= self._cost(overlay_id, old)
        self._pending[overlay_id] = fragment
        self.nbytes += self._cost(overlay_id, fragment)

    def upsert(self, overlay_id: str, fragment: bytes) -> None:
        """Send ``fragment`` for ``overlay_id``, replacing any pending change of it."""
        self._put(overlay_id, fragment)

    def remove(self, overlay_id: str) -> None:
        """Tell the client ``overlay_id`` is gone, replacing any pending upsert of it."""
        self._put(overlay_id, None)

    def pending(self) -> dict[str, bytes | None]:
        """A copy of the pending changes (for inspection)."""
        return dict(self._pending)

    def take(self) -> tuple[list[bytes], list[str]]:
        """Empty the outbox: ``(upsert fragments, removed ids)`` in first-change order."""
        upserts: list[bytes] = []
        removes: list[str] = []
        for overlay_id, fragment in self._pending.items():
            if fragment is None:
                removes.append(overlay_id)
            else:
                upserts.append(fragment)
        self._pending.clear()
        self.nbytes = 0
        return upserts, removes

    def clear(self) -> None:
        """Drop every pending change (a snapshot supersedes them)."""
        self._pending.clear()
        self.nbytes = 0


class History:
    """The last stream messages by offset, at most ``max_len`` of them and ``max_bytes``.

    Messages are kept as their parts (header, shared overlay fragments, tail), so
    sessions that were sent the same overlays share their bytes; ``max_bytes``
    counts each message's full length all the same. Every message from the oldest
    kept to ``last`` is held (older ones are dropped from the front only).
    """

    def __init__(self, max_len: int, max_bytes: int) -> None:
        self._messages: deque[tuple[int, tuple[bytes, ...], int]] = deque()
        self._max_len = max_len
        self._max_bytes = max_bytes
        self.nbytes = 0
        self.last = -1  # offset of the newest message handed out, -1 before any

    def append(self, offset: int, parts: Sequence[bytes], size: int | None = None) -> None:
        """Keep the message ``b"".join(parts)``; drop the oldest beyond the bounds.

        Offsets must follow each other. ``size`` is the message's length, when known.
        """
        if offset != self.last + 1:
            raise ValueError(f"offset {offset} does not follow {self.last}")
        if size is None:
            size = sum(map(len, parts))
        self._messages.append((offset, tuple(parts), size))
        self.nbytes += size
        self.last = offset
        while self._messages and (
            len(self._messages) > self._max_len or self.nbytes > self._max_bytes
        ):
            self.nbytes -= self._messages.popleft()[2]

    def holds_after(self, offset: int) -> bool:
        """Whether every message after ``offset`` is kept (and ``offset`` was handed out)."""
        if offset > self.last:
            return False
        first = self._messages[0][0] if self._messages else self.last + 1
        return offset + 1 >= first

    def after(self, offset: int) -> Iterator[bytes]:
        """The messages after ``offset``, oldest first."""
        for o, parts, _ in self._messages:
            if o > offset:
                yield b"".join(parts)
