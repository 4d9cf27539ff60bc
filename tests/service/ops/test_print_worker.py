"""Print sheets rendered in a child process: same sheet, errors and cancellation carried."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from pypdf import PdfReader

from geo.errors import GeoError
from geo.export import ExportData, PrintOptions
from geo.export.pdf import write_pdf
from service.print_worker import write_pdf_isolated
from tests.geo.export.conftest import build_demo_data

LAYERS = ("blight", "uncertainty", "towers", "zones")
OPTIONS = PrintOptions(paper="A4", orientation="portrait", dpi=150, title="Isolated")


@pytest.fixture(scope="module")
def data() -> ExportData:
    return build_demo_data()


def test_the_child_writes_the_same_sheet(data: ExportData, tmp_path: Path) -> None:
    area = data.district_bbox_wgs84()
    here = write_pdf(data, area, LAYERS, OPTIONS, tmp_path / "here.pdf")
    there = write_pdf_isolated(data, area, LAYERS, OPTIONS, tmp_path / "there.pdf")
    assert there == here
    pages = PdfReader(tmp_path / "there.pdf").pages
    assert len(pages) == 2 and "Isolated" in pages[0].extract_text()
    assert multiprocessing.active_children() == []


def test_an_error_in_the_child_is_raised_here(data: ExportData, tmp_path: Path) -> None:
    far_away = (10.0, 45.0, 10.01, 45.01)
    with pytest.raises(GeoError):
        write_pdf(data, far_away, LAYERS, OPTIONS, tmp_path / "here.pdf")
    with pytest.raises(GeoError):
        write_pdf_isolated(data, far_away, LAYERS, OPTIONS, tmp_path / "there.pdf")


class Stop(Exception):
    """The job was cancelled."""


def test_cancelling_kills_the_child(data: ExportData, tmp_path: Path) -> None:
    big = PrintOptions(paper="A2", orientation="landscape", dpi=600, title="Big")
    calls: list[int] = []

    def check() -> None:
        calls.append(len(multiprocessing.active_children()))
        raise Stop

    with pytest.raises(Stop):
        write_pdf_isolated(
            data, data.district_bbox_wgs84(), LAYERS, big, tmp_path / "x.pdf", check
        )
    assert calls == [1]  # the child was running when the job was cancelled
    assert multiprocessing.active_children() == []
