"""How ``blightmap watch`` shows the stream: a live table on a terminal, one line per
change when its output is a pipe or a file, one JSON object per line with ``--json``.

A printer gets each change (``enter``, ``update``, ``leave`` of one overlay) as it
arrives; the line and JSON printers flush every line, so ``watch | grep`` and a log
file see a change when it happens, not when the process ends.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table

from service.stream.geometry import LocalFrame2D

__all__ = ["Change", "JsonPrinter", "LinePrinter", "Printer", "TablePrinter", "View"]


@dataclass(frozen=True, slots=True)
class View:
    """Where the viewer is and how far it sees."""

    lon: float
    lat: float
    range_m: float

    def distance_m(self, item: dict[str, Any]) -> float | None:
        """Horizontal distance from the viewer to an overlay's anchor, metres."""
        position = (item.get("geopose") or item.get("pose") or {}).get("position") or {}
        if "lon" not in position or "lat" not in position:
            return None
        x, y = LocalFrame2D(self.lon, self.lat).to_local(position["lon"], position["lat"])
        return math.hypot(x, y)


@dataclass(frozen=True, slots=True)
class Change:
    """One overlay entering, changing or leaving the view."""

    event: str
    overlay_id: str
    item: dict[str, Any] | None


class Printer(Protocol):
    """What the client calls as the stream goes."""

    def status(self, text: str) -> None:
        """A connection event (connected, resumed): not a change of the view."""

    def error(self, text: str) -> None:
        """Why the client stops or retries."""

    def show(self, changes: list[Change], overlays: dict[str, dict[str, Any]], where: str) -> None:
        """Changes of one message; ``overlays`` is the whole view after them."""

    def close(self) -> None:
        """Finish the output."""


class LinePrinter:
    """One plain line per change: ``event id kind vVERSION DISTANCE m``."""

    def __init__(self, view: View, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._view, self._out, self._err = view, out or sys.stdout, err or sys.stderr

    def status(self, text: str) -> None:
        """To stderr, so that stdout holds only changes."""
        print(text, file=self._err, flush=True)

    def error(self, text: str) -> None:
        """To stderr."""
        print(f"error: {text}", file=self._err, flush=True)

    def show(self, changes: list[Change], overlays: dict[str, dict[str, Any]], where: str) -> None:
        """Print ``changes``, one line each, flushed."""
        for change in changes:
            body = change.item or {}
            distance = self._view.distance_m(body) if change.item else None
            metres = "-" if distance is None else f"{distance:.0f} m"
            kind, version = body.get("kind", "-"), body.get("version", "-")
            line = f"{change.event:<6} {change.overlay_id} {kind} v{version} {metres} ({where})"
            print(line, file=self._out)
        self._out.flush()

    def close(self) -> None:
        """Nothing is held back."""


class JsonPrinter(LinePrinter):
    """One JSON object per change (JSON Lines), for scripts."""

    def show(self, changes: list[Change], overlays: dict[str, dict[str, Any]], where: str) -> None:
        """Print ``changes`` as JSON Lines, flushed."""
        for change in changes:
            record = {
                "event": change.event,
                "id": change.overlay_id,
                "kind": (change.item or {}).get("kind"),
                "version": (change.item or {}).get("version"),
                "distance_m": self._view.distance_m(change.item) if change.item else None,
                "stream": where,
                "overlay": change.item,
            }
            self._out.write(orjson.dumps(record).decode() + "\n")
        self._out.flush()


class TablePrinter:
    """A live table on a terminal: the overlays in view and what last happened to each."""

    def __init__(self, view: View, console: Console) -> None:
        self._view, self._console = view, console
        self._events: dict[str, str] = {}
        self._live: Live | None = None

    def status(self, text: str) -> None:
        """Above the table."""
        self._console.print(f"[dim]{text}[/]")

    def error(self, text: str) -> None:
        """Above the table, in red."""
        self._console.print(f"[red]error[/]: {text}")

    def show(self, changes: list[Change], overlays: dict[str, dict[str, Any]], where: str) -> None:
        """Redraw the table; rows that left are shown once, then dropped."""
        self._events = {k: v for k, v in self._events.items() if v != "leave"}
        self._events.update({c.overlay_id: c.event for c in changes})
        if self._live is None:
            self._live = Live(console=self._console, auto_refresh=False)
            self._live.start()
        self._live.update(self._table(overlays, where), refresh=True)

    def close(self) -> None:
        """Leave the last table on screen."""
        if self._live is not None:
            self._live.stop()

    def _table(self, overlays: dict[str, dict[str, Any]], where: str) -> Table:
        view = self._view
        title = f"overlays within {view.range_m:g} m of {view.lon:.5f}, {view.lat:.5f}"
        table = Table(title=title, caption=where)
        for column in ("id", "kind", "version", "distance m", "event"):
            table.add_column(column)
        rows = [(i, overlays.get(i), e) for i, e in self._events.items()]
        rows.sort(key=lambda r: (view.distance_m(r[1]) or 0.0) if r[1] else math.inf)
        for overlay_id, item, event in rows:
            body = item or {}
            distance = view.distance_m(body) if item else None
            table.add_row(
                overlay_id,
                str(body.get("kind", "")),
                str(body.get("version", "")),
                "" if distance is None else f"{distance:.0f}",
                event,
            )
        return table
