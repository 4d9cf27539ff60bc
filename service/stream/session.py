"""A client's session: the handle an adapter drives, and the resumable stream behind it.

:class:`Session` is sans-I/O: feed it what the client sent (:meth:`Session.receive_data`
or :meth:`Session.receive`), then take what to send (:meth:`Session.outgoing`). It
never raises for client input: a bad message becomes an ``error`` message. The
adapter learns that there is something to send through the wake-up callback, and
that the connection must end through :attr:`Session.close_reason`.

A :class:`Stream` is the part that outlives a connection: epoch, offsets, view,
outbox and history. When the connection drops, the hub keeps the stream detached for
a while, and a new session can adopt it with ``subscribe`` + ``resume``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson

from ar_assets.overlay import Convention
from service.auth import Role
from service.stream.outbox import History, Outbox
from service.stream.protocol import (
    CloseCode,
    CloseReason,
    ErrorCode,
    delta_parts,
    delta_prefix,
    encode_error,
    encode_pong,
)
from service.stream.rate import TokenBucket
from service.stream.schema import Problem, check_client_message
from service.stream.views import View

if TYPE_CHECKING:
    from service.stream.hub import OverlayHub

__all__ = ["Session", "SessionState", "Stream"]

log = logging.getLogger("blightmap.stream")


class SessionState(StrEnum):
    """Where a session handle is in its life."""

    OPEN = "open"  # connected and authenticated; subscribed once it has a stream
    DETACHED = "detached"  # the connection dropped; its stream may be resumed
    CLOSED = "closed"  # ended by the server (close_reason) or for good


@dataclass(slots=True, eq=False)
class Stream:
    """The resumable state of a subscription."""

    epoch: str
    convention: Convention
    view: View
    slot: int
    history: History
    outbox: Outbox = field(default_factory=Outbox)
    owner: Session | None = None
    detached_at: float | None = None
    key_id: str | None = None  # the key that opened it: only that key may resume it
    delta_prefix: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.delta_prefix = delta_prefix(self.epoch)

    @property
    def next_offset(self) -> int:
        """The offset the next stream message gets."""
        return self.history.last + 1


class Session:
    """One client connection's view of the hub (create with :meth:`OverlayHub.connect`).

    A client sending faster than the hub's ``max_messages_per_s`` (or subscribing
    faster than ``max_subscribes_per_s``), past the bursts, is closed with 4029; so is
    one whose key, over all its connections, sends faster than
    ``max_messages_per_key_per_s`` (the key's budget outlives its connections, so a
    reconnecting flood is closed at its first message).
    """

    def __init__(self, hub: OverlayHub, role: Role, key_id: str | None = None) -> None:
        self.role = role
        self.key_id = key_id
        self._messages = TokenBucket(hub.max_messages_per_s, hub.message_burst, hub._clock)
        self._subscribes = TokenBucket(hub.max_subscribes_per_s, hub.subscribe_burst, hub._clock)
        self._key_messages = hub._key_bucket(key_id)
        self.state = SessionState.OPEN
        self.close_reason: CloseReason | None = None
        self._hub = hub
        self._stream: Stream | None = None
        self._ready: deque[bytes] = deque()
        self._ready_bytes = 0
        self._pending_since: float | None = None
        self._wakeup: Callable[[], None] | None = None
        self._armed = True

    def __repr__(self) -> str:
        epoch = self._stream.epoch if self._stream else None
        return f"<Session {self.state.value} role={self.role.value} epoch={epoch}>"

    # -- what the adapter calls ------------------------------------------------------

    def set_wakeup(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (no arguments, from the hub's thread) when there is work.

        Work is something to send, or :attr:`close_reason` becoming set. The callback
        is called once per batch: again only after :meth:`outgoing` was called.
        """
        self._wakeup = callback
        if callback is not None and (self.has_outgoing or self.close_reason is not None):
            self._armed = False
            callback()

    def receive_data(self, data: str | bytes) -> None:
        """Handle one text or binary frame holding a JSON message."""
        if self.state is not SessionState.OPEN or not self._within_rates():
            return
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            self._error(Problem(ErrorCode.BAD_JSON, "the message is not valid JSON"))
            return
        self._handle(message)

    def receive(self, message: Any) -> None:
        """Handle one parsed client message; problems are answered with ``error`` messages."""
        if self.state is SessionState.OPEN and self._within_rates():
            self._handle(message)

    def _within_rates(self) -> bool:
        """One message against the connection's and the key's budgets."""
        if not self._within_rate(self._messages, "message"):
            return False
        key = self._key_messages
        return key is None or self._within_rate(key, "this key's message")

    def _within_rate(self, bucket: TokenBucket, what: str) -> bool:
        """Spend a token of ``bucket``; without one, the session ends (4029)."""
        if bucket.take():
            return True
        limit = f"{bucket.rate_per_s:g}/s, bursts of {bucket.burst}"
        reason = CloseReason(CloseCode.TOO_MANY_MESSAGES, f"{what} rate over {limit}")
        self._hub._end(self, reason)
        return False

    def _handle(self, message: Any) -> None:
        problem = check_client_message(message)
        if problem is not None:
            self._error(problem)
            return
        kind = message["type"]
        if kind == "subscribe" and not self._within_rate(self._subscribes, "subscribe"):
            return
        try:
            if kind == "subscribe":
                self._hub._subscribe(self, message)
            elif kind == "move":
                if self._stream is None:
                    self._error(
                        Problem(ErrorCode.NOT_SUBSCRIBED, "subscribe before moving", "type")
                    )
                else:
                    self._hub._move(self._stream, message["viewer"])
            elif kind == "ping":
                self.push(encode_pong(message.get("id")))
            else:  # auth: the adapter handles it before the session exists
                self._error(Problem(ErrorCode.BAD_REQUEST, "already authenticated", "type"))
        except Exception:
            log.exception("the stream failed to handle a %s message", kind)
            self._error(Problem(ErrorCode.INTERNAL, "the server failed; it has been logged"))

    def outgoing(self) -> list[bytes]:
        """Take every message to send now, in order (JSON text, as bytes).

        Pending overlay changes are assembled into one ``delta`` here, with the next
        offset, and kept in the history for resume.
        """
        out = list(self._ready)
        self._ready.clear()
        self._ready_bytes = 0
        stream = self._stream
        if stream is not None and stream.outbox and self.close_reason is None:
            upserts, removes = stream.outbox.take()
            offset = stream.history.last + 1
            parts = delta_parts(stream.epoch, offset, upserts, removes, stream.delta_prefix)
            message = b"".join(parts)
            stream.history.append(offset, parts, len(message))
            out.append(message)
        self._pending_since = None
        self._armed = True
        return out

    def detach(self) -> None:
        """The connection dropped: keep the stream for a resume (a no-op once closed)."""
        self._hub._detach(self)

    def close(self) -> None:
        """End the session for good: its stream cannot be resumed."""
        self._hub._end(self, None)

    # -- what tests and the adapter may read -----------------------------------------

    @property
    def subscribed(self) -> bool:
        """Whether the session has a stream (after a successful ``subscribe``)."""
        return self._stream is not None

    @property
    def epoch(self) -> str | None:
        """The epoch of the session's stream."""
        return self._stream.epoch if self._stream else None

    @property
    def offset(self) -> int | None:
        """The offset of the last stream message handed out by :meth:`outgoing` or queued."""
        return self._stream.history.last if self._stream else None

    @property
    def stalled(self) -> bool:
        """Whether the hub gave up on this session for being too slow."""
        return self.close_reason is not None and self.close_reason.code is CloseCode.TOO_SLOW

    @property
    def has_outgoing(self) -> bool:
        """Whether :meth:`outgoing` would return something."""
        return bool(self._ready) or bool(self._stream is not None and self._stream.outbox)

    @property
    def pending_bytes(self) -> int:
        """Bytes waiting to be taken by :meth:`outgoing` (queued messages and outbox)."""
        outbox = self._stream.outbox.nbytes if self._stream else 0
        return self._ready_bytes + outbox

    @property
    def pending_entries(self) -> int:
        """Queued messages plus outbox entries."""
        outbox = len(self._stream.outbox) if self._stream else 0
        return len(self._ready) + outbox

    def pending(self) -> Mapping[str, bytes | None]:
        """The coalesced overlay changes not yet handed out (id -> fragment or None)."""
        return self._stream.outbox.pending() if self._stream else {}

    # -- what the hub calls ----------------------------------------------------------

    def push(self, message: bytes) -> None:
        """Queue a ready message (snapshot, replay, error, pong) and check the limits."""
        self._ready.append(message)
        self._ready_bytes += len(message)
        self.note_pending()

    def push_all(self, messages: list[bytes]) -> None:
        """Queue ``messages`` in order, then wake the adapter once.

        A resume queues ``resumed`` and the replay this way: an adapter that writes
        from its wake-up callback (the direct frame path) takes them all in one
        :meth:`outgoing`, before the delta of what changed meanwhile, so offsets
        only go up and nothing is sent twice.
        """
        for message in messages:
            self._ready.append(message)
            self._ready_bytes += len(message)
        if messages:
            self.note_pending()

    def note_pending(self) -> None:
        """Something is waiting: start the stall clock, check limits, wake the adapter."""
        if self._pending_since is None:
            self._pending_since = self._hub._clock()
        if self._hub._over_limits(self):
            self._hub._end(self, CloseReason(CloseCode.TOO_SLOW, "the client reads too slowly"))
            return
        self.wake()

    def discard_ready(self) -> None:
        """Forget the queued messages (the session is closing: nothing more is sent)."""
        self._ready.clear()
        self._ready_bytes = 0
        self._pending_since = None

    def wake(self) -> None:
        """Call the wake-up callback if it is armed (or always, once closing)."""
        if self._wakeup is not None and (self._armed or self.close_reason is not None):
            self._armed = False
            self._wakeup()

    def pending_for(self, now: float) -> float:
        """Seconds the oldest undelivered item has waited (0 when nothing waits)."""
        return 0.0 if self._pending_since is None else now - self._pending_since

    def _error(self, problem: Problem) -> None:
        self.push(encode_error(problem.code, problem.detail, problem.field))
