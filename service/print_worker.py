"""Print PDFs rendered in a short-lived child process, so their memory goes back.

Why: an A2 sheet at 600 dpi is about 140 million pixels; matplotlib's Agg renderer, the
image resampling and the PDF writer allocate and free several gigabytes per page. In a
long-running service those frees do not return to the operating system (glibc keeps the
fragmented heaps of the export threads), so six such exports took the process from
2.3 GB to 5.9 GB and it stayed there. A child process started for each print and ended
after it returns every byte when it exits; the service's resident size stays flat
(``bench/bench_export_soak.py``, figures in BENCHMARKS.md).

The child is started with "spawn" (no copy of the service's threads or heap), dies with
the service (:func:`service.child_process.die_with_parent`) and is killed when the job
is cancelled: ``check()`` is called while waiting and may raise to stop.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from geo.export.pdf import PrintLayout, write_pdf
from geo.export.spec import BBox, ExportData, PrintOptions
from service.child_process import die_with_parent

__all__ = ["PrintWorkerDied", "write_pdf_isolated"]

_POLL_S = 0.2


class PrintWorkerDied(RuntimeError):
    """The print process ended without an answer (killed, out of memory)."""


def _render(
    answer: Connection,
    data: ExportData,
    area_wgs84: BBox,
    layers: tuple[str, ...],
    options: PrintOptions,
    path: Path,
) -> None:
    """Child-process entry point: write the PDF, send back the layout or the error."""
    die_with_parent()
    try:
        reply: tuple[str, Any] = ("ok", write_pdf(data, area_wgs84, layers, options, path))
    except Exception as exc:
        reply = ("error", exc)
    try:
        answer.send(reply)
    except Exception:  # an exception that does not pickle: send its text
        answer.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))
    answer.close()


def write_pdf_isolated(
    data: ExportData,
    area_wgs84: BBox,
    layers: tuple[str, ...],
    options: PrintOptions,
    path: Path,
    check: Callable[[], None] | None = None,
) -> PrintLayout:
    """:func:`geo.export.pdf.write_pdf` in a child process; same arguments and result.

    ``check()`` is called every 0.2 s while the child works; if it raises, the child is
    killed and the exception propagates (the caller removes the partial file).

    Raises
    ------
    GeoError
        As :func:`~geo.export.pdf.write_pdf` (raised in the child, re-raised here).
    PrintWorkerDied
        When the child ends without answering.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_render,
        args=(sender, data, area_wgs84, layers, options, path),
        name="blightmap-print",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        while not receiver.poll(_POLL_S):
            if not child.is_alive():
                raise PrintWorkerDied(f"the print process ended (exit code {child.exitcode})")
            if check is not None:
                check()
        try:
            status, value = receiver.recv()
        except EOFError as exc:
            raise PrintWorkerDied("the print process ended without an answer") from exc
        child.join(5)  # it exits right after answering
    finally:
        if child.is_alive():  # cancelled, or stuck after answering
            child.kill()
            child.join()
        receiver.close()
    if status == "error":
        raise value
    layout: PrintLayout = value
    return layout
