"""``blightmap watch``: a reference client of ``/ws/overlays`` that prints what arrives.

It subscribes around a point and shows the overlays in view (what entered, changed or
left): a live table on a terminal, one line per change on a pipe or in a file, JSON
Lines with ``--json`` (:mod:`service.stream.watch_output`). It resumes its stream
after a dropped connection; a server that cannot be reached at all is reported after
at most ``connect_timeout_s``. ``--once`` prints the snapshot and exits.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import orjson
from rich.console import Console
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from service.stream.watch_output import (
    Change,
    JsonPrinter,
    LinePrinter,
    Printer,
    TablePrinter,
    View,
)

__all__ = ["DEFAULT_URL", "WatchOptions", "stream_url", "watch"]

DEFAULT_URL = "http://127.0.0.1:8000"
_RETRY_CODES = {1001, 1006, 1011, 1012, 1013, 4029, 4030}  # worth reconnecting, backing off


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What to watch, where, and how to print it (``output``: auto, table, lines, json;
    auto is a table on a terminal and lines otherwise)."""

    lon: float
    lat: float
    range_m: float = 200.0
    url: str = DEFAULT_URL
    key: str | None = None
    layers: tuple[str, ...] | None = None
    convention: str = "geopose"
    height_m: float = 0.0
    once: bool = False
    retries: int = 5
    connect_timeout_s: float = 5.0
    output: str = "auto"


@dataclass(slots=True)
class _State:
    """What the client holds: overlays by id, and where its stream is."""

    overlays: dict[str, dict[str, Any]] = field(default_factory=dict)
    epoch: str | None = None
    offset: int | None = None


def stream_url(url: str) -> str:
    """``url`` with the ``/ws/overlays`` path when it has none (``http`` becomes ``ws``)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else "/ws/overlays"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def _subscribe(options: WatchOptions, state: _State) -> bytes:
    message: dict[str, Any] = {
        "type": "subscribe",
        "viewer": {
            "position": {"lon": options.lon, "lat": options.lat, "h": options.height_m},
            "quaternion": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
        },
        "range_m": options.range_m,
        "convention": options.convention,
    }
    if options.layers:
        message["layers"] = list(options.layers)
    if state.epoch is not None and state.offset is not None:
        message["resume"] = {"epoch": state.epoch, "offset": state.offset}
    return orjson.dumps(message)


def _apply(state: _State, message: dict[str, Any]) -> list[Change]:
    """Update ``state`` with a snapshot or a delta; the changes it made."""
    kind = message.get("type")
    changes: list[Change] = []
    if kind == "snapshot":
        before = state.overlays
        state.overlays = {o["id"]: o for o in message["overlays"]}
        changes = [Change("leave", i, None) for i in before if i not in state.overlays]
        changes += [
            Change("update" if i in before else "enter", i, o) for i, o in state.overlays.items()
        ]
    elif kind == "delta":
        for item in message["upserts"]:
            event = "update" if item["id"] in state.overlays else "enter"
            state.overlays[item["id"]] = item
            changes.append(Change(event, item["id"], item))
        for gone in message["removes"]:
            if state.overlays.pop(gone, None) is not None:
                changes.append(Change("leave", gone, None))
    if kind in ("snapshot", "delta"):
        state.epoch, state.offset = message["epoch"], message["offset"]
    return changes


async def _session(
    ws: ClientConnection, options: WatchOptions, state: _State, printer: Printer
) -> int | None:
    """Run one connection; the exit status when done, ``None`` to reconnect."""
    await ws.send(_subscribe(options, state).decode())
    async for data in ws:
        message = orjson.loads(data)
        if message.get("type") == "error":
            printer.error(f"{message['code']}: {message['detail']}")
            return 1
        changes = _apply(state, message)
        if message.get("type") in ("snapshot", "delta"):
            printer.show(changes, state.overlays, f"epoch {state.epoch} offset {state.offset}")
        if options.once and message.get("type") == "snapshot":
            return 0
    return None


def _printer(options: WatchOptions, console: Console, out: TextIO | None) -> Printer:
    view = View(options.lon, options.lat, options.range_m)
    mode = options.output
    if mode == "auto":
        mode = "table" if out is None and console.is_terminal else "lines"
    if mode == "json":
        return JsonPrinter(view, out)
    if mode == "lines":
        return LinePrinter(view, out)
    return TablePrinter(view, console)


def _unreachable(url: str, exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer from {url} in {timeout_s:g} s (is it a blightmap server? see --url)"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot connect to {url}: {reason} (is `blightmap serve` running there? see --url)"


async def watch(
    options: WatchOptions, console: Console | None = None, out: TextIO | None = None
) -> int:
    """Watch the stream until interrupted (or the first snapshot with ``once``).

    Returns the exit status: 0 done, 1 refused, unreachable or failed. A server
    never reached is reported at once (after ``connect_timeout_s`` at most); a dropped
    connection is retried ``retries`` times with backoff, resuming the stream.
    """
    printer = _printer(options, console or Console(), out)
    try:
        return await _watch(options, printer)
    finally:
        printer.close()


async def _watch(options: WatchOptions, printer: Printer) -> int:
    key = options.key or os.environ.get("BLIGHTMAP_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = stream_url(options.url)
    state, attempts, connected = _State(), 0, False
    while True:
        try:
            async with connect(
                url, additional_headers=headers, open_timeout=options.connect_timeout_s
            ) as ws:
                printer.status(f"{'resumed' if connected else 'connected to'} {url}")
                connected, attempts = True, 0
                status = await _session(ws, options, state, printer)
                if status is not None:
                    return status
        except InvalidStatus as exc:
            printer.error(f"{url} refused the stream: HTTP {exc.response.status_code}")
            return 1
        except InvalidURI:
            printer.error(f"not a service or stream URL: {options.url}")
            return 1
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            if code not in _RETRY_CODES or attempts >= options.retries:
                printer.error(f"closed: {code} {exc.rcvd.reason if exc.rcvd else ''}")
                return 1
        except OSError as exc:  # TimeoutError included
            if not connected or attempts >= options.retries:
                printer.error(_unreachable(url, exc, options.connect_timeout_s))
                return 1
        attempts += 1
        await asyncio.sleep(min(10.0, 0.5 * 2**attempts))
