"""The thin adapter between a Starlette WebSocket and a hub :class:`Session`.

Per connection: check the Origin, authenticate (``Authorization: Bearer`` at the
handshake, or a first ``auth`` message within ``auth_timeout_s``), open a session,
then run two tasks: one feeds received frames to the session, one sends what the
session has (woken by an :class:`asyncio.Event`), each send bounded by
``send_timeout_s`` (watched by the runtime, not by a timer per send). Nothing here
waits on another client: a slow socket only blocks its own send task, and the hub
coalesces what it is not sent meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from service.auth import Role
from service.stream.access import bearer_key, origin_allowed
from service.stream.config import StreamConfig
from service.stream.frames import FrameWriter, frame_writer
from service.stream.hub import HubUnavailable
from service.stream.protocol import CloseCode, CloseReason, ErrorCode, encode_error
from service.stream.runtime import Connection, StreamRuntime
from service.stream.schema import check_client_message
from service.stream.session import Session

__all__ = ["serve_overlay_socket"]

log = logging.getLogger("blightmap.stream")

_BAD_KEY = CloseReason(CloseCode.POLICY_VIOLATION, "unknown or revoked key")
_SEND_TIMEOUT = CloseReason(CloseCode.TOO_SLOW, "the client reads too slowly")
_GOING_AWAY = CloseReason(CloseCode.GOING_AWAY, "the server is shutting down")
_INTERNAL = CloseReason(CloseCode.INTERNAL_ERROR, "internal error; it has been logged")


class _Gone(Exception):
    """The client disconnected."""


async def serve_overlay_socket(websocket: WebSocket, runtime: StreamRuntime) -> None:
    """Serve one ``/ws/overlays`` connection until either side ends it."""
    runtime.start()
    with runtime.connection() as conn:
        try:
            role = await _handshake(websocket, runtime)
            if role is None:
                return
            try:
                session = runtime.hub.connect(role)
            except HubUnavailable as exc:
                await _close(websocket, runtime, exc.close)
                return
            conn.has_session = True
            await _run_session(websocket, session, runtime, conn)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not runtime.closing or task is None:
                raise
            task.uncancel()  # our own shutdown cancelled this handler: close politely
            await _close(websocket, runtime, _GOING_AWAY)


async def _handshake(websocket: WebSocket, runtime: StreamRuntime) -> Role | None:
    """Check the Origin and the key; accept; ``None`` when the socket was refused."""
    config = runtime.config
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if not origin_allowed(origin, host, config.allowed_origins):
        await _close(websocket, runtime, CloseReason(CloseCode.POLICY_VIOLATION, "origin"))
        return None
    key = bearer_key(websocket.headers.get("authorization"))
    if key is not None:
        role = await run_in_threadpool(runtime.authenticate, key)
        if role is None:
            await _close(websocket, runtime, _BAD_KEY)  # before accept: an HTTP 403
            return None
        await websocket.accept()
        return role
    await websocket.accept()
    return await _authenticate_by_message(websocket, runtime)


async def _authenticate_by_message(websocket: WebSocket, runtime: StreamRuntime) -> Role | None:
    """Wait for ``{"type": "auth", "key": ...}``; close 1008 on a bad key or the timeout."""
    config = runtime.config
    try:
        with anyio.fail_after(config.auth_timeout_s):
            while True:
                data = await _receive(websocket, config)
                if isinstance(data, CloseReason):
                    await _close(websocket, runtime, data)
                    return None
                problem = _auth_problem(data)
                if problem is not None:
                    await websocket.send_text(problem.decode())
                    continue
                role = await run_in_threadpool(runtime.authenticate, orjson.loads(data)["key"])
                if role is None:
                    await _close(websocket, runtime, _BAD_KEY)
                return role
    except TimeoutError:
        timeout = CloseReason(CloseCode.POLICY_VIOLATION, "authentication timeout")
        await _close(websocket, runtime, timeout)
    except (_Gone, WebSocketDisconnect, OSError):
        pass
    return None


def _auth_problem(data: str | bytes) -> bytes | None:
    """The error message for a frame that is not a valid ``auth`` message."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return encode_error(ErrorCode.BAD_JSON, "the message is not valid JSON")
    if not isinstance(message, dict) or message.get("type") != "auth":
        detail = 'authenticate first: {"type": "auth", "key": "..."}'
        return encode_error(ErrorCode.UNAUTHENTICATED, detail, "type")
    problem = check_client_message(message)
    if problem is not None:
        return encode_error(problem.code, problem.detail, problem.field)
    return None


async def _receive(websocket: WebSocket, config: StreamConfig) -> str | bytes | CloseReason:
    """The next data frame, or 1009 for one over the limit; raises :class:`_Gone`."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Gone
        text = message.get("text")
        data: str | bytes | None = text if text is not None else message.get("bytes")
        if data is None:
            continue
        limit = config.max_message_bytes
        size = len(data) if isinstance(data, bytes) or len(data) * 4 <= limit else None
        if size is None:
            size = len(data.encode()) if isinstance(data, str) else len(data)
        if size > limit:
            return CloseReason(CloseCode.MESSAGE_TOO_BIG, f"messages are limited to {limit} bytes")
        return data


async def _run_session(
    websocket: WebSocket, session: Session, runtime: StreamRuntime, conn: Connection
) -> None:
    """Receive and send concurrently until one side ends; then close or detach."""
    wake = asyncio.Event()
    writer = frame_writer(websocket.scope)
    if writer is None:
        session.set_wakeup(wake.set)
    else:  # write straight to the socket while it keeps up; the send loop otherwise
        session.set_wakeup(partial(_write_now, session, writer, wake, conn, runtime))
    outcomes: list[CloseReason | None] = []
    config = runtime.config

    async def first(loop: Callable[[], Awaitable[CloseReason | None]]) -> None:
        outcomes.append(await loop())
        group.cancel_scope.cancel()  # the other loop stops too

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(first, partial(_receive_loop, websocket, session, config))
            group.start_soon(first, partial(_send_loop, websocket, session, wake, conn, runtime))
    except Exception:  # a bug: log it, end the session, tell the client
        log.exception("stream connection failed")
        session.close()
        await _close(websocket, runtime, _INTERNAL)
        return
    finally:
        session.set_wakeup(None)
    outcome = outcomes[0] if outcomes else None
    if outcome is None:  # the client went away: keep the stream for a resume
        session.detach()
        return
    if session.close_reason is None:  # our own decision (1009, send timeout)
        session.close()
    await _close(websocket, runtime, outcome)


async def _receive_loop(
    websocket: WebSocket, session: Session, config: StreamConfig
) -> CloseReason | None:
    try:
        while True:
            data = await _receive(websocket, config)
            if isinstance(data, CloseReason):
                return data
            session.receive_data(data)
    except (_Gone, WebSocketDisconnect, OSError):
        return None


async def _send_loop(
    websocket: WebSocket,
    session: Session,
    wake: asyncio.Event,
    conn: Connection,
    runtime: StreamRuntime,
) -> CloseReason | None:
    """Send what the session has whenever woken; the runtime's watchdog times sends out."""
    with anyio.CancelScope() as conn.send_scope:
        try:
            while True:
                await wake.wait()
                wake.clear()
                conn.busy = True  # holds messages: direct writes would overtake them
                try:
                    await _send_all(websocket, session, conn, runtime)
                finally:
                    conn.busy = False
                if session.close_reason is not None:
                    return session.close_reason
        except (WebSocketDisconnect, OSError):
            return None
    return _SEND_TIMEOUT  # only the watchdog cancels this scope


async def _send_all(
    websocket: WebSocket, session: Session, conn: Connection, runtime: StreamRuntime
) -> None:
    for data in session.outgoing():
        if session.close_reason is not None:
            return
        conn.sending_since = time.monotonic()
        await websocket.send({"type": "websocket.send", "text": data.decode()})
        conn.sending_since = None
        runtime.sent["awaited"] += 1


def _write_now(
    session: Session,
    writer: FrameWriter,
    wake: asyncio.Event,
    conn: Connection,
    runtime: StreamRuntime,
) -> None:
    """The wake-up of a session whose server offers direct frame writes.

    While the socket keeps up (no back-pressure, no awaited send in progress) the
    session's messages are written at once, in the publishing call, as
    ``websockets.broadcast()`` does; otherwise the send loop is woken and awaits the
    socket, and the changes coalesce in the outbox meanwhile.
    """
    if conn.busy or session.close_reason is not None or not writer.can_write():
        wake.set()
        return
    try:
        for data in session.outgoing():
            writer.write_text(data)
            runtime.sent["direct"] += 1
    except Exception:  # the connection is closing under us: the loops find out
        log.debug("direct write failed", exc_info=True)
        wake.set()


async def _close(websocket: WebSocket, runtime: StreamRuntime, reason: CloseReason) -> None:
    """Send a close frame (before accept: refuse the handshake), bounded in time.

    A client that reads nothing never lets the close frame through; after
    ``close_timeout_s`` the handler gives up and the server drops the connection.
    """
    runtime.closed_codes[int(reason.code)] += 1
    with (
        contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError),
        anyio.move_on_after(runtime.config.close_timeout_s),
    ):
        await websocket.close(int(reason.code), reason.reason)
