"""``blightmap watch``: a reference client of ``/ws/overlays`` that prints what arrives.

It subscribes around a point, shows the overlays in view as a live table (what
entered, changed or left), and resumes its stream after a dropped connection.
``--once`` prints the snapshot and exits.
"""

from __future__ import annotations

import asyncio
import math
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from service.stream.geometry import LocalFrame2D

__all__ = ["WatchOptions", "stream_url", "watch"]

_RETRY_CODES = {1001, 1006, 1011, 1012, 1013, 4029, 4030}  # worth reconnecting, backing off


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What to watch and where."""

    lon: float
    lat: float
    range_m: float = 200.0
    url: str = "ws://127.0.0.1:8000"
    key: str | None = None
    layers: tuple[str, ...] | None = None
    convention: str = "geopose"
    height_m: float = 0.0
    once: bool = False
    retries: int = 5


@dataclass(slots=True)
class _State:
    """What the client holds: overlays by id, and where its stream is."""

    overlays: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
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


def _apply(state: _State, message: dict[str, Any]) -> None:
    """Update ``state`` with a snapshot or a delta (other messages change nothing)."""
    kind = message.get("type")
    if kind == "snapshot":
        state.overlays = {o["id"]: o for o in message["overlays"]}
        state.events = dict.fromkeys(state.overlays, "enter")
    elif kind == "delta":
        for item in message["upserts"]:
            state.events[item["id"]] = "update" if item["id"] in state.overlays else "enter"
            state.overlays[item["id"]] = item
        for gone in message["removes"]:
            if state.overlays.pop(gone, None) is not None:
                state.events[gone] = "leave"
    if kind in ("snapshot", "delta"):
        state.epoch, state.offset = message["epoch"], message["offset"]


def _distance_m(options: WatchOptions, item: dict[str, Any]) -> float | None:
    position = (item.get("geopose") or item.get("pose") or {}).get("position") or {}
    if "lon" not in position or "lat" not in position:
        return None
    x, y = LocalFrame2D(options.lon, options.lat).to_local(position["lon"], position["lat"])
    return math.hypot(x, y)


def _table(options: WatchOptions, state: _State) -> Table:
    title = f"overlays within {options.range_m:g} m of {options.lon:.5f}, {options.lat:.5f}"
    table = Table(title=title, caption=f"epoch {state.epoch} offset {state.offset}")
    for column in ("id", "kind", "version", "distance m", "event"):
        table.add_column(column)
    rows = [(i, state.overlays.get(i), e) for i, e in state.events.items()]
    rows.sort(key=lambda r: (_distance_m(options, r[1]) or 0.0) if r[1] else math.inf)
    for overlay_id, item, event in rows:
        body = item or {}
        distance = _distance_m(options, body) if item else None
        table.add_row(
            overlay_id,
            str(body.get("kind", "")),
            str(body.get("version", "")),
            "" if distance is None else f"{distance:.0f}",
            event,
        )
    return table


async def _session(
    ws: ClientConnection, options: WatchOptions, state: _State, console: Console
) -> int | None:
    """Run one connection; the exit status when done, ``None`` to reconnect."""
    await ws.send(_subscribe(options, state).decode())
    with Live(_table(options, state), console=console, auto_refresh=False) as live:
        async for data in ws:
            message = orjson.loads(data)
            if message.get("type") == "error":
                console.print(f"[red]error[/] {message['code']}: {message['detail']}")
                return 1
            state.events = {k: v for k, v in state.events.items() if v != "leave"}
            _apply(state, message)  # rows that left are shown once, then dropped
            live.update(_table(options, state), refresh=True)
            if options.once and message.get("type") == "snapshot":
                return 0
    return None


async def watch(options: WatchOptions, console: Console | None = None) -> int:
    """Watch the stream until interrupted (or the first snapshot with ``once``).

    Returns the exit status: 0 done, 1 refused or failed.
    """
    console = console or Console()
    key = options.key or os.environ.get("BLIGHTMAP_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    state, attempts = _State(), 0
    while True:
        try:
            async with connect(stream_url(options.url), additional_headers=headers) as ws:
                status = await _session(ws, options, state, console)
                if status is not None:
                    return status
        except InvalidStatus as exc:
            console.print(f"[red]refused[/]: HTTP {exc.response.status_code}")
            return 1
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            if code not in _RETRY_CODES or attempts >= options.retries:
                console.print(f"[red]closed[/]: {code} {exc.rcvd.reason if exc.rcvd else ''}")
                return 1
        except OSError as exc:
            if attempts >= options.retries:
                console.print(f"[red]cannot connect[/]: {exc}")
                return 1
        attempts += 1
        await asyncio.sleep(min(10.0, 0.5 * 2**attempts))
