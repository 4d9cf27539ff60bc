"""Wire vocabulary of ``/ws/overlays``: error codes, close codes and message encoders.

Every server message is a JSON text frame. Messages that carry overlays are
assembled from pre-serialized overlay fragments (``bytes``), so one serialization of
an overlay version is shared by every client that receives it. The schemas of these
messages are in ``ar-protocol.schema.json`` next to this module; a test validates
every message the hub emits against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import orjson

from ar_assets.overlay import Convention, Layer

__all__ = [
    "MAX_RANGE_M",
    "MIN_RANGE_M",
    "CloseCode",
    "CloseReason",
    "ErrorCode",
    "delta_parts",
    "delta_prefix",
    "encode_delta",
    "encode_error",
    "encode_pong",
    "encode_resumed",
    "encode_snapshot",
    "snapshot_parts",
]

MIN_RANGE_M = 1.0
MAX_RANGE_M = 2000.0


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` message; the connection stays open after each."""

    BAD_JSON = "bad_json"  # the frame is not JSON
    BAD_REQUEST = "bad_request"  # a field is missing or invalid (``field`` names it)
    UNKNOWN_TYPE = "unknown_type"  # ``type`` is not a client message type
    NOT_SUBSCRIBED = "not_subscribed"  # ``move`` before ``subscribe``
    UNAUTHENTICATED = "unauthenticated"  # anything but ``auth`` before authentication
    INTERNAL = "internal"  # the server failed to answer (logged); the session goes on


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4, 4000-4999 private)."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server shuts down
    POLICY_VIOLATION = 1008  # refused Origin, bad key, authentication timeout
    MESSAGE_TOO_BIG = 1009  # a client message over the size limit
    INTERNAL_ERROR = 1011  # a server bug; also uvicorn's keep-alive ping timeout
    SERVICE_RESTART = 1012  # uvicorn's own code when it stops before the app could
    TRY_AGAIN_LATER = 1013  # the server holds its maximum number of sessions
    TOO_SLOW = 4008  # the client does not read fast enough (outbox limit, send timeout)
    SUPERSEDED = 4009  # another connection resumed this session
    TOO_MANY_MESSAGES = 4029  # the client sends faster than ws_max_messages_per_s (or subscribes)
    TOO_MANY_SESSIONS = 4030  # the key holds ws_max_sessions_per_key sessions
    KEY_REVOKED = 4031  # the key of this session was revoked


@dataclass(frozen=True, slots=True)
class CloseReason:
    """Why and how the server ends a connection."""

    code: CloseCode
    reason: str


def _header(fields: dict[str, object]) -> bytes:
    """``fields`` as a JSON object without its closing brace, to append more members."""
    return orjson.dumps(fields)[:-1]


def snapshot_parts(
    epoch: str,
    offset: int,
    convention: Convention,
    range_m: float,
    layers: Iterable[Layer],
    fragments: Sequence[bytes],
    recovered: bool | None = None,
) -> list[bytes]:
    """A ``snapshot`` as pieces whose concatenation is the message.

    The overlay fragments are kept as they are (shared between sessions), so a
    history of parts costs pointers, not copies.
    """
    head: dict[str, object] = {
        "type": "snapshot",
        "epoch": epoch,
        "offset": offset,
        "convention": convention.value,
        "range_m": range_m,
        "layers": [layer.value for layer in Layer if layer in set(layers)],
    }
    if recovered is not None:
        head["recovered"] = recovered
    return [_header(head), b',"overlays":[', *_joined(fragments), b"]}"]


def delta_prefix(epoch: str) -> bytes:
    """The bytes every ``delta`` of ``epoch`` starts with (a stream keeps them)."""
    return b'{"type":"delta","epoch":' + orjson.dumps(epoch) + b',"offset":'


_NO_REMOVES = b'],"removes":[]}'


def delta_parts(
    epoch: str,
    offset: int,
    upserts: Sequence[bytes],
    removes: Sequence[str],
    prefix: bytes | None = None,
) -> list[bytes]:
    """A ``delta`` as pieces: overlays that entered or changed, ids that left.

    ``prefix`` is :func:`delta_prefix` of ``epoch``, when the caller has it at hand.
    """
    head = (prefix or delta_prefix(epoch)) + b'%d,"upserts":[' % offset
    tail = b'],"removes":' + orjson.dumps(list(removes)) + b"}" if removes else _NO_REMOVES
    if len(upserts) == 1:
        return [head, upserts[0], tail]
    return [head, *_joined(upserts), tail]


def _joined(fragments: Sequence[bytes]) -> list[bytes]:
    """``fragments`` with ``b","`` between them."""
    out: list[bytes] = []
    for i, fragment in enumerate(fragments):
        if i:
            out.append(b",")
        out.append(fragment)
    return out


def encode_snapshot(
    epoch: str,
    offset: int,
    convention: Convention,
    range_m: float,
    layers: Iterable[Layer],
    fragments: Sequence[bytes],
    recovered: bool | None = None,
) -> bytes:
    """A ``snapshot``: every overlay in view, replacing what the client holds."""
    parts = snapshot_parts(epoch, offset, convention, range_m, layers, fragments, recovered)
    return b"".join(parts)


def encode_delta(
    epoch: str, offset: int, upserts: Sequence[bytes], removes: Sequence[str]
) -> bytes:
    """A ``delta``: overlays that entered or changed (``upserts``) and ids that left."""
    return b"".join(delta_parts(epoch, offset, upserts, removes))


def encode_resumed(epoch: str, offset: int) -> bytes:
    """``resumed``: the messages after ``offset`` of ``epoch`` follow, then live deltas."""
    return orjson.dumps({"type": "resumed", "epoch": epoch, "offset": offset, "recovered": True})


def encode_error(code: ErrorCode, detail: str, field: str | None = None) -> bytes:
    """An ``error`` about the client's last message; ``field`` is a dotted path."""
    body: dict[str, object] = {"type": "error", "code": code.value, "detail": detail}
    if field is not None:
        body["field"] = field
    return orjson.dumps(body)


def encode_pong(ping_id: str | int | None = None) -> bytes:
    """``pong``, echoing the ping's ``id`` when it had one."""
    body: dict[str, object] = {"type": "pong"}
    if ping_id is not None:
        body["id"] = ping_id
    return orjson.dumps(body)
