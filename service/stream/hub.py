"""The overlay hub: who sees which overlay, and what each session must be sent.

:class:`OverlayHub` is a plain object (sans-I/O, like the protocol core of
``websockets``): the producer calls :meth:`OverlayHub.publish` with changed overlays,
adapters drive :class:`~service.stream.session.Session` handles, and nothing here
awaits or touches a socket. It is not thread-safe: call it from one thread (the
event loop).

Fan-out
    A publish updates the spatial index of overlay anchors and tests every changed
    overlay (old and new version) against every session's view at once
    (:class:`~service.stream.views.ViewTable`). A session that saw the old version or
    sees the new one gets the change in its outbox: an upsert when it sees the new
    version, a removal when the overlay left its view.

Serialization
    Each overlay version is serialized once per convention in use, before any state
    changes (a failing serializer leaves the hub untouched), and the same ``bytes``
    fragment goes into every outbox; messages are assembled from the fragments.

Memory
    Bounded whatever clients do: at most ``max_sessions`` open sessions (and
    ``max_sessions_per_key`` per API key, 4030 beyond, and as many detached streams per
    key) and ``max_detached`` detached streams, each with an outbox of at most
    ``outbox_limit`` entries / ``outbox_max_bytes`` and a history of at most
    ``history_len`` messages / ``history_max_bytes``. A session past its outbox limit,
    or whose changes waited more than ``stall_timeout_s`` undrained, is *stalled*: its
    stream is dropped and its adapter told to close it (4008).
"""

from __future__ import annotations

import math
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson

from ar_assets.overlay import Convention, Detail, Layer, Overlay
from service.auth import Role
from service.stream.geometry import GridIndex, LocalFrame2D
from service.stream.outbox import History
from service.stream.protocol import (
    CloseCode,
    CloseReason,
    encode_resumed,
    snapshot_parts,
)
from service.stream.rate import TokenBucket
from service.stream.session import Session, SessionState, Stream
from service.stream.views import LAYER_BITS, View, ViewTable

__all__ = ["HubStats", "HubUnavailable", "OverlayHub", "Serializer"]

Serializer = Callable[[Overlay, Convention], dict[str, Any]]
_SWEEP_EVERY_S = 1.0


class HubUnavailable(Exception):
    """The hub takes no new session: full (1013) or shutting down (1001)."""

    def __init__(self, close: CloseReason) -> None:
        super().__init__(close.reason)
        self.close = close


@dataclass(frozen=True, slots=True)
class _Entry:
    """An indexed overlay with its local position, layer bit and detail."""

    overlay: Overlay
    x_m: float
    y_m: float
    bit: int
    near: bool


@dataclass(frozen=True, slots=True)
class HubStats:
    """Counts and bytes held by the hub (for tests, logs and benchmarks)."""

    sessions: int
    subscribed: int
    detached: int
    overlays: int
    fragments: int
    fragment_bytes: int
    pending_bytes: int
    history_bytes: int


class OverlayHub:
    """Index of current overlays and fan-out of their changes to sessions.

    Parameters
    ----------
    serialize
        ``(overlay, convention) -> dict``: the JSON form of one overlay for clients
        of a convention (``ar_assets.overlays.overlay_message``). Called once per
        overlay version and convention.
    history_len, history_max_bytes
        Stream messages kept per session for resume.
    outbox_limit, outbox_max_bytes
        Undelivered entries / bytes per session before it is stalled. Must exceed
        the largest snapshot a client can ask for.
    stall_timeout_s
        Longest time changes may wait undelivered on a connected session.
    near_range_m
        Reach of ``near`` detail overlays (capped by each session's range).
    max_sessions, max_detached, detached_ttl_s
        Open sessions; detached streams kept (oldest dropped first) and for how long.
    max_sessions_per_key
        Open sessions of one API key (close 4030 beyond); also its detached streams.
    max_messages_per_s, message_burst, max_subscribes_per_s, subscribe_burst
        Client messages (and ``subscribe`` messages among them) per second and
        session, beyond a burst: a faster client is closed with 4029. 0: no limit.
    max_messages_per_key_per_s, key_message_burst
        The same over all the sessions of one key (kept while the key is idle for
        less than a full refill, so reconnecting does not reset it).
    max_connects_per_key_per_s, connect_burst
        New sessions of one key per second beyond a burst (close 4029): each costs a
        handshake, a key lookup and a snapshot.
    cell_m
        Cell size of the anchor index.
    origin_lonlat
        Reference of the local metric frame; the first published anchor when ``None``.
    clock
        Monotonic seconds.
    """

    def __init__(
        self,
        serialize: Serializer,
        *,
        history_len: int = 256,
        history_max_bytes: int = 1 << 20,
        outbox_limit: int = 10_000,
        outbox_max_bytes: int = 8 << 20,
        stall_timeout_s: float = 30.0,
        near_range_m: float = 60.0,
        max_sessions: int = 10_000,
        max_detached: int = 1000,
        detached_ttl_s: float = 120.0,
        max_sessions_per_key: int = 50,
        max_messages_per_s: float = 100.0,
        message_burst: int = 200,
        max_subscribes_per_s: float = 2.0,
        subscribe_burst: int = 10,
        max_messages_per_key_per_s: float = 200.0,
        key_message_burst: int = 400,
        max_connects_per_key_per_s: float = 5.0,
        connect_burst: int = 50,
        cell_m: float = 100.0,
        origin_lonlat: tuple[float, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._serialize = serialize
        self.history_len = history_len
        self.history_max_bytes = history_max_bytes
        self.outbox_limit = outbox_limit
        self.outbox_max_bytes = outbox_max_bytes
        self.stall_timeout_s = stall_timeout_s
        self.near_range_m = near_range_m
        self.max_sessions = max_sessions
        self.max_detached = max_detached
        self.detached_ttl_s = detached_ttl_s
        self.max_sessions_per_key = max_sessions_per_key
        self.max_messages_per_s = max_messages_per_s
        self.message_burst = message_burst
        self.max_subscribes_per_s = max_subscribes_per_s
        self.subscribe_burst = subscribe_burst
        self.max_messages_per_key_per_s = max_messages_per_key_per_s
        self.key_message_burst = key_message_burst
        self._key_buckets: dict[str, TokenBucket] = {}
        self.max_connects_per_key_per_s = max_connects_per_key_per_s
        self.connect_burst = connect_burst
        self._connect_buckets: dict[str, TokenBucket] = {}
        self._clock = clock
        self._frame = LocalFrame2D(*origin_lonlat) if origin_lonlat else None
        self._grid = GridIndex(cell_m)
        self._entries: dict[str, _Entry] = {}
        self._fragments: dict[tuple[str, int, Convention], bytes] = {}
        self._table = ViewTable()
        self._by_slot: dict[int, Stream] = {}
        self._by_epoch: dict[str, Stream] = {}
        self._detached: OrderedDict[str, Stream] = OrderedDict()
        self._conventions: Counter[Convention] = Counter()
        self._sessions: set[Session] = set()
        self._per_key: Counter[str] = Counter()  # open sessions per key id
        self._closing = False
        self._last_sweep = clock()

    # -- sessions --------------------------------------------------------------------

    def connect(self, role: Role, key_id: str | None = None) -> Session:
        """A new session for a client authenticated with the key ``key_id`` of ``role``.

        Raises
        ------
        HubUnavailable
            When ``max_sessions`` are open (close 1013), the key holds
            ``max_sessions_per_key`` (4030), or the hub is closing (1001).
        """
        self._maybe_sweep()
        if self._closing:
            raise HubUnavailable(CloseReason(CloseCode.GOING_AWAY, "the server is shutting down"))
        if len(self._sessions) >= self.max_sessions:
            raise HubUnavailable(CloseReason(CloseCode.TRY_AGAIN_LATER, "too many sessions"))
        if key_id is not None and self._per_key[key_id] >= self.max_sessions_per_key:
            detail = f"this key holds {self.max_sessions_per_key} sessions, the most it may"
            raise HubUnavailable(CloseReason(CloseCode.TOO_MANY_SESSIONS, detail))
        connects = self._bucket(
            self._connect_buckets, key_id, self.max_connects_per_key_per_s, self.connect_burst
        )
        if connects is not None and not connects.take():
            detail = f"this key connects faster than {self.max_connects_per_key_per_s:g}/s"
            raise HubUnavailable(CloseReason(CloseCode.TOO_MANY_MESSAGES, detail))
        session = Session(self, role, key_id)
        self._sessions.add(session)
        if key_id is not None:
            self._per_key[key_id] += 1
        return session

    def revoke(self, keep: Callable[[str], bool]) -> int:
        """End the sessions (4031) and drop the detached streams of every key id for
        which ``keep(key_id)`` is false; the number of sessions ended."""
        revoked = CloseReason(CloseCode.KEY_REVOKED, "the key of this session was revoked")
        ended = [s for s in self._sessions if s.key_id is not None and not keep(s.key_id)]
        for session in ended:
            self._end(session, revoked)
        for stream in list(self._detached.values()):
            if stream.key_id is not None and not keep(stream.key_id):
                self._drop(stream)
        return len(ended)

    def close_all(self, code: CloseCode = CloseCode.GOING_AWAY, reason: str = "") -> None:
        """End every session with ``code`` (each adapter is woken to close its socket).

        Detached streams are dropped and :meth:`connect` refuses from now on.
        """
        self._closing = True
        closing = CloseReason(code, reason or "the server is shutting down")
        for session in list(self._sessions):
            self._end(session, closing)
        for stream in list(self._detached.values()):
            self._drop(stream)

    def sweep(self) -> None:
        """Expire detached streams past their TTL and stall sessions that wait too long.

        The hub also sweeps lazily on :meth:`publish` and :meth:`connect`; an adapter
        calls this about once a second so that idle hubs expire streams too.
        """
        now = self._clock()
        self._last_sweep = now
        self._forget_idle_key_buckets()
        while self._detached:
            stream = next(iter(self._detached.values()))
            if stream.detached_at is not None and now - stream.detached_at <= self.detached_ttl_s:
                break
            self._drop(stream)
        too_slow = CloseReason(CloseCode.TOO_SLOW, "the client reads too slowly")
        for session in list(self._sessions):
            if session.pending_for(now) > self.stall_timeout_s:
                self._end(session, too_slow)

    def stats(self) -> HubStats:
        """What the hub holds now."""
        streams = list(self._by_epoch.values())
        return HubStats(
            sessions=len(self._sessions),
            subscribed=sum(1 for s in streams if s.owner is not None),
            detached=len(self._detached),
            overlays=len(self._entries),
            fragments=len(self._fragments),
            fragment_bytes=sum(len(f) for f in self._fragments.values()),
            pending_bytes=sum(s.pending_bytes for s in self._sessions)
            + sum(s.outbox.nbytes for s in self._detached.values()),
            history_bytes=sum(s.history.nbytes for s in streams),
        )

    # -- publishing ------------------------------------------------------------------

    def publish(self, upserts: Sequence[Overlay], removes: Sequence[str]) -> None:
        """Apply changed overlays and removed ids; queue deltas to the sessions concerned.

        An upsert whose ``(id, version)`` the hub already holds (or an older version)
        is ignored, so re-publishing is harmless; removing an unknown id too.
        """
        self._maybe_sweep()
        fresh: dict[str, Overlay] = {}
        for overlay in upserts:
            held = self._entries.get(overlay.id)
            if held is not None and overlay.version <= held.overlay.version:
                continue
            if overlay.id not in fresh or overlay.version > fresh[overlay.id].version:
                fresh[overlay.id] = overlay
        gone = [i for i in dict.fromkeys(removes) if i in self._entries and i not in fresh]
        if not fresh and not gone:
            return
        if self._frame is None:
            first = next(iter(fresh.values())).anchor
            self._set_frame(LocalFrame2D(first.lon, first.lat))
        new_entries = {i: self._entry(o) for i, o in fresh.items()}
        self._serialize_first(new_entries.values())
        changes: list[tuple[str, _Entry | None, _Entry | None]] = []
        for overlay_id, entry in new_entries.items():
            changes.append((overlay_id, self._entries.get(overlay_id), entry))
            self._store(entry)
        for overlay_id in gone:
            changes.append((overlay_id, self._entries[overlay_id], None))
            self._unstore(overlay_id)
        if self._by_slot:
            self._fan_out(changes)

    def _serialize_first(self, entries: Iterable[_Entry]) -> None:
        """Serialize new versions for the conventions in use; on failure, undo and raise."""
        made: list[tuple[str, int, Convention]] = []
        try:
            for entry in entries:
                for convention in +self._conventions:
                    key = (entry.overlay.id, entry.overlay.version, convention)
                    if key not in self._fragments:
                        self._fragment(entry, convention)
                        made.append(key)
        except Exception:
            for key in made:
                self._fragments.pop(key, None)
            raise

    def _fan_out(self, changes: list[tuple[str, _Entry | None, _Entry | None]]) -> None:
        nan = math.nan
        old = [c[1] for c in changes]
        new = [c[2] for c in changes]
        columns = [np.array([e.x_m if e else nan for e in entries]) for entries in (old, new)] + [
            np.array([e.y_m if e else nan for e in entries]) for entries in (old, new)
        ]
        old_x, new_x, old_y, new_y = columns
        old_bits = np.array([e.bit if e else 0 for e in old], dtype=np.int64)
        new_bits = np.array([e.bit if e else 0 for e in new], dtype=np.int64)
        old_near = np.array([bool(e and e.near) for e in old])
        new_near = np.array([bool(e and e.near) for e in new])
        touched: dict[int, Stream] = {}
        for rows in self._table.chunks(len(changes)):
            was = self._table.visible(old_x[rows], old_y[rows], old_bits[rows], old_near[rows])
            now = self._table.visible(new_x[rows], new_y[rows], new_bits[rows], new_near[rows])
            slots, idx = np.nonzero((was | now).T)
            sees_now = now.T[slots, idx].tolist()
            for slot, i, visible in zip(slots.tolist(), idx.tolist(), sees_now, strict=True):
                stream = self._by_slot[slot]
                overlay_id, _, entry = changes[rows.start + i]
                if visible and entry is not None:
                    stream.outbox.upsert(overlay_id, self._fragment(entry, stream.convention))
                else:
                    stream.outbox.remove(overlay_id)
                touched[slot] = stream
        for stream in touched.values():
            self._after_change(stream)

    def _after_change(self, stream: Stream) -> None:
        if stream.owner is not None:
            stream.owner.note_pending()
        elif len(stream.outbox) > self.outbox_limit or stream.outbox.nbytes > self.outbox_max_bytes:
            self._drop(stream)  # a detached stream past its limits cannot be resumed

    # -- index and fragments ---------------------------------------------------------

    def _entry(self, overlay: Overlay) -> _Entry:
        x_m, y_m = self._xy(overlay.anchor.lon, overlay.anchor.lat)
        near = overlay.detail is Detail.NEAR
        return _Entry(overlay, x_m, y_m, LAYER_BITS[overlay.layer], near)

    def _store(self, entry: _Entry) -> None:
        overlay_id = entry.overlay.id
        self._evict(overlay_id)
        self._entries[overlay_id] = entry
        self._grid.put(overlay_id, entry.x_m, entry.y_m)

    def _unstore(self, overlay_id: str) -> None:
        self._evict(overlay_id)
        del self._entries[overlay_id]
        self._grid.remove(overlay_id)

    def _evict(self, overlay_id: str) -> None:
        held = self._entries.get(overlay_id)
        if held is not None:
            for convention in Convention:
                self._fragments.pop((overlay_id, held.overlay.version, convention), None)

    def _fragment(self, entry: _Entry, convention: Convention) -> bytes:
        key = (entry.overlay.id, entry.overlay.version, convention)
        fragment = self._fragments.get(key)
        if fragment is None:
            fragment = orjson.dumps(self._serialize(entry.overlay, convention))
            self._fragments[key] = fragment
        return fragment

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        return self._frame.to_local(lon, lat) if self._frame else (0.0, 0.0)

    def _set_frame(self, frame: LocalFrame2D) -> None:
        """Fix the local frame and re-project the views made before it existed."""
        self._frame = frame
        for stream in self._by_slot.values():
            x_m, y_m = frame.to_local(stream.view.lon, stream.view.lat)
            stream.view = replace(stream.view, x_m=x_m, y_m=y_m)
            self._table.set(stream.slot, stream.view)

    def _visible(self, view: View) -> list[tuple[float, str]]:
        """``(squared distance, id)`` of every overlay in ``view``, nearest first."""
        found = []
        for overlay_id in self._grid.candidates(view.x_m, view.y_m, view.range_m):
            e = self._entries[overlay_id]
            if view.sees(e.x_m, e.y_m, e.bit, e.near):
                found.append(((e.x_m - view.x_m) ** 2 + (e.y_m - view.y_m) ** 2, overlay_id))
        found.sort()
        return found

    def _view(self, viewer: dict[str, Any], range_m: float, layers: Iterable[Layer]) -> View:
        lon, lat = float(viewer["position"]["lon"]), float(viewer["position"]["lat"])
        return View.at(lon, lat, self._xy(lon, lat), float(range_m), self.near_range_m, layers)

    # -- what sessions call ----------------------------------------------------------

    def _now(self) -> float:
        return self._clock()

    def _maybe_sweep(self) -> None:
        if self._clock() - self._last_sweep >= _SWEEP_EVERY_S:
            self.sweep()

    def _over_limits(self, session: Session) -> bool:
        # on every change to every session: inlined from Session.pending_entries/_bytes
        entries, nbytes = len(session._ready), session._ready_bytes
        stream = session._stream
        if stream is not None:
            entries += len(stream.outbox)
            nbytes += stream.outbox.nbytes
        return entries > self.outbox_limit or nbytes > self.outbox_max_bytes

    def _subscribe(self, session: Session, message: dict[str, Any]) -> None:
        layers = [Layer(v) for v in message.get("layers", [layer.value for layer in Layer])]
        convention = Convention(message.get("convention", Convention.GEOPOSE.value))
        view = self._view(message["viewer"], message["range_m"], layers)
        resume = message.get("resume")
        if resume is not None and self._try_resume(session, resume, convention, view):
            return
        stream = session._stream
        if stream is None or resume is not None or stream.convention is not convention:
            if stream is not None:
                self._drop(stream)
            stream = self._new_stream(session, convention, view)
        else:
            stream.view = view
            self._table.set(stream.slot, view)
        stream.outbox.clear()
        fragments = [self._fragment(self._entries[i], convention) for _, i in self._visible(view)]
        parts = snapshot_parts(
            stream.epoch,
            stream.next_offset,
            convention,
            view.range_m,
            view.layers,
            fragments,
            recovered=False if resume is not None else None,
        )
        stream.history.append(stream.next_offset, parts)
        session.push(b"".join(parts))

    def _try_resume(
        self, session: Session, resume: dict[str, Any], convention: Convention, view: View
    ) -> bool:
        stream = self._by_epoch.get(resume["epoch"])
        offset = int(resume["offset"])
        if stream is None or stream.convention is not convention:
            return False
        if stream.key_id != session.key_id:  # only the key that opened it may resume it
            return False
        if not stream.history.holds_after(offset):
            return False
        previous = stream.owner
        if previous is not None and previous is not session:
            previous._stream = None
            self._end(previous, CloseReason(CloseCode.SUPERSEDED, "resumed elsewhere"))
        if session._stream is not None and session._stream is not stream:
            self._drop(session._stream)
        self._detached.pop(stream.epoch, None)
        stream.owner, stream.detached_at = session, None
        session._stream = stream
        # one batch: a wake-up that writes at once must not build the pending delta
        # (and put it in the history) between `resumed` and the replay
        session.push_all([encode_resumed(stream.epoch, offset), *stream.history.after(offset)])
        self._change_view(stream, view)
        return True

    def _new_stream(self, session: Session, convention: Convention, view: View) -> Stream:
        epoch = secrets.token_urlsafe(9)
        history = History(self.history_len, self.history_max_bytes)
        stream = Stream(epoch, convention, view, self._table.add(view), history, owner=session)
        stream.key_id = session.key_id
        self._by_slot[stream.slot] = stream
        self._by_epoch[epoch] = stream
        self._conventions[convention] += 1
        session._stream = stream
        return stream

    def _move(self, stream: Stream, viewer: dict[str, Any]) -> None:
        view = stream.view
        self._change_view(stream, self._view(viewer, view.range_m, view.layers))

    def _change_view(self, stream: Stream, view: View) -> None:
        """Queue what enters and what leaves when ``stream``'s view becomes ``view``."""
        before = {i for _, i in self._visible(stream.view)}
        after = self._visible(view)
        stream.view = view
        self._table.set(stream.slot, view)
        changed = False
        for _, overlay_id in after:
            if overlay_id not in before:
                fragment = self._fragment(self._entries[overlay_id], stream.convention)
                stream.outbox.upsert(overlay_id, fragment)
                changed = True
        for overlay_id in before.difference(i for _, i in after):
            stream.outbox.remove(overlay_id)
            changed = True
        if changed:
            self._after_change(stream)

    def _detach(self, session: Session) -> None:
        if session.state is not SessionState.OPEN:
            return
        session.state = SessionState.DETACHED
        self._forget(session)
        stream, session._stream = session._stream, None
        if stream is None:
            return
        stream.owner, stream.detached_at = None, self._clock()
        self._detached[stream.epoch] = stream
        while len(self._detached) > self.max_detached:
            self._drop(next(iter(self._detached.values())))
        if stream.key_id is not None:  # one key keeps at most its session cap detached
            mine = [s for s in self._detached.values() if s.key_id == stream.key_id]
            for old in mine[: max(0, len(mine) - self.max_sessions_per_key)]:
                self._drop(old)

    def _key_bucket(self, key_id: str | None) -> TokenBucket | None:
        """The message budget shared by the sessions of ``key_id`` (none without a key)."""
        rate, burst = self.max_messages_per_key_per_s, self.key_message_burst
        return self._bucket(self._key_buckets, key_id, rate, burst)

    def _bucket(
        self, buckets: dict[str, TokenBucket], key_id: str | None, rate: float, burst: int
    ) -> TokenBucket | None:
        if key_id is None or rate <= 0:
            return None
        bucket = buckets.get(key_id)
        if bucket is None:
            bucket = buckets[key_id] = TokenBucket(rate, burst, self._clock)
        return bucket

    def _forget_idle_key_buckets(self) -> None:
        """Drop the budgets of keys without sessions that would be full again by now."""
        for buckets in (self._key_buckets, self._connect_buckets):
            for key_id in [k for k in buckets if k not in self._per_key]:
                if buckets[key_id].full:
                    del buckets[key_id]

    def _forget(self, session: Session) -> None:
        """Take ``session`` out of the open sessions and its key's count."""
        if session in self._sessions:
            self._sessions.discard(session)
            if session.key_id is not None:
                self._per_key[session.key_id] -= 1
                if self._per_key[session.key_id] <= 0:
                    del self._per_key[session.key_id]

    def _end(self, session: Session, reason: CloseReason | None) -> None:
        """Close ``session`` (with ``reason`` for the adapter) and drop its stream."""
        if session.state is SessionState.CLOSED:
            return
        session.state = SessionState.CLOSED
        session.close_reason = reason
        session.discard_ready()
        self._forget(session)
        if session._stream is not None:
            self._drop(session._stream)
        if reason is not None:
            session.wake()

    def _drop(self, stream: Stream) -> None:
        """Forget ``stream`` entirely (not resumable)."""
        if self._by_epoch.pop(stream.epoch, None) is None:
            return
        self._detached.pop(stream.epoch, None)
        self._table.remove(stream.slot)
        del self._by_slot[stream.slot]
        self._conventions[stream.convention] -= 1
        stream.outbox.clear()
        stream.history = History(0, 0)
        if stream.owner is not None and stream.owner._stream is stream:
            stream.owner._stream = None
        stream.owner = None
