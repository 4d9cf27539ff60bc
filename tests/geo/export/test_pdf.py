"""The PDF sheet: exact paper sizes (pypdf), what it states (its text), and its colours
(rasterised with pdfium: the pixel over a tower has the field's colour there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from shapely.geometry import box

from geo.colormap import colormap
from geo.export import ExportData, PrintOptions
from geo.export.pdf import PrintLayout, write_pdf

ALL_LAYERS = ("blight", "uncertainty", "towers", "zones")


@pytest.mark.parametrize("paper", ["A4", "A3", "A2", "Letter"])
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_page_is_exactly_the_paper_size(
    demo_data: ExportData, tmp_path: Path, paper: Any, orientation: Any
) -> None:
    options = PrintOptions(paper=paper, orientation=orientation, dpi=150, title="Sheet")
    path = tmp_path / "map.pdf"
    layout = write_pdf(demo_data, demo_data.district_bbox_wgs84(), ALL_LAYERS, options, path)
    reader = PdfReader(path)
    assert len(reader.pages) == 2 == len(layout.pages)
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(options.size_pt[0], abs=0.01)
        assert float(page.mediabox.height) == pytest.approx(options.size_pt[1], abs=0.01)
    x0, y0, x1, y1 = layout.map_box_pt
    assert 0 < x0 < x1 < options.size_pt[0] and 0 < y0 < y1 < options.size_pt[1]


def test_the_sheet_states_what_a_map_must(demo_data: ExportData, tmp_path: Path) -> None:
    options = PrintOptions(paper="A3", orientation="landscape", dpi=150, title="Binnenstad")
    path = tmp_path / "map.pdf"
    layout = write_pdf(demo_data, demo_data.district_bbox_wgs84(), ALL_LAYERS, options, path)
    reader = PdfReader(path)
    text = reader.pages[0].extract_text()
    for expected in (
        "Binnenstad",
        "Blight intensity",
        "cividis",
        "Data version: 42",
        "Data time: 2026-06-01 12:00 UTC",
        "Interpolation: idw",
        "WGS 84 / UTM zone 31N (EPSG:32631)",
        f"1:{layout.scale_denominator:,}",
        "true north is",
        "west of grid north",
        "Attribution: blightmap",
    ):
        assert expected in text, expected
    assert "blightmap-greypurple" in reader.pages[1].extract_text()
    assert reader.metadata is not None and reader.metadata.title == "Binnenstad"
    # Utrecht lies east of UTM 31's central meridian (3 E): the meridians lean west.
    assert -2.0 < layout.north.true_north_deg < -1.0


def test_scale_is_true_on_paper(demo_data: ExportData, tmp_path: Path) -> None:
    options = PrintOptions(paper="A4", orientation="portrait", dpi=150)
    layout = write_pdf(
        demo_data, demo_data.district_bbox_wgs84(), ("blight",), options, tmp_path / "m.pdf"
    )
    x0, y0, x1, y1 = layout.map_box_pt
    minx, miny, maxx, maxy = layout.map_bounds_m
    mm_per_pt = 25.4 / 72.0
    # ground metres per paper millimetre, both ways, equal the stated scale
    assert (maxx - minx) / ((x1 - x0) * mm_per_pt) == pytest.approx(
        layout.scale_denominator / 1000.0, rel=1e-9
    )
    assert (maxy - miny) / ((y1 - y0) * mm_per_pt) == pytest.approx(
        layout.scale_denominator / 1000.0, rel=1e-9
    )
    # the whole field is on the sheet
    gx0, gy0, gx1, gy1 = demo_data.grid.spec.bounds_m
    assert minx <= gx0 and miny <= gy0 and maxx >= gx1 and maxy >= gy1


def _clear_towers(data: ExportData) -> list[tuple[float, float, int, int]]:
    """Cell centres (x, y, row, col) of cells at tower centroids, well inside the footprint
    and away from every zone outline, so nothing is drawn over them but the field."""
    spec = data.grid.spec
    res = spec.resolution_m
    outlines = [z.geometry_local.exterior for z in data.zones]
    out = []
    for tower in data.towers:
        x, y = data.frame.to_local(*tower.centroid_lonlat)
        row, col, _ = spec.index_of(np.array([x]), np.array([y]))
        cx = spec.west_m + (col[0] + 0.5) * res
        cy = spec.north_m - (row[0] + 0.5) * res
        cell = box(cx - res / 2, cy - res / 2, cx + res / 2, cy + res / 2)
        footprint = data.frame.geometry_to_local(tower.footprint_wgs84)
        if footprint.buffer(-1.5).contains(cell) and all(o.distance(cell) > 2.0 for o in outlines):
            out.append((cx, cy, int(row[0]), int(col[0])))
    return out


def _pixel(layout: PrintLayout, image: np.ndarray, x: float, y: float, dpi: int) -> np.ndarray:
    x0, y0, x1, y1 = layout.map_box_pt
    minx, miny, maxx, maxy = layout.map_bounds_m
    px_pt = x0 + (x - minx) / (maxx - minx) * (x1 - x0)
    py_pt = y0 + (y - miny) / (maxy - miny) * (y1 - y0)
    scale = dpi / 72.0
    col = int(px_pt * scale)
    row = int((layout.page_size_pt[1] - py_pt) * scale)
    return image[row, col, :3]


@pytest.mark.parametrize(
    ("layer", "page", "cmap"), [("blight", 0, "intensity"), ("uncertainty", 1, "uncertainty")]
)
def test_pixel_over_a_tower_is_the_field_through_the_colormap(
    demo_data: ExportData, tmp_path: Path, layer: str, page: int, cmap: str
) -> None:
    dpi = 200
    options = PrintOptions(paper="A3", orientation="landscape", dpi=dpi)
    path = tmp_path / "map.pdf"
    layout = write_pdf(demo_data, demo_data.district_bbox_wgs84(), ALL_LAYERS, options, path)
    pdf = pdfium.PdfDocument(path)
    image = np.asarray(pdf[page].render(scale=dpi / 72.0).to_pil().convert("RGB"))
    pdf.close()
    clear = [
        (cx, cy, row, col)
        for cx, cy, row, col in _clear_towers(demo_data)
        if not any(  # labels (white boxes) are printed over the field
            b[0] - 3 <= cx <= b[2] + 3 and b[1] - 3 <= cy <= b[3] + 3
            for b in (p.box_m for p in layout.labels)
        )
    ]
    assert len(clear) >= 5
    grid = demo_data.grid
    values = grid.values if layer == "blight" else grid.std_error
    seen = set()
    for cx, cy, row, col in clear:
        # the print interpolates between cell centres: the pixel has the colour of a
        # value between the cell's and its neighbours'
        near = values[row - 1 : row + 2, col - 1 : col + 2]
        between = np.linspace(np.nanmin(near), np.nanmax(near), 1024)
        allowed = {tuple(c) for c in colormap(cmap).rgba(between)[:, :3].tolist()}
        got = tuple(_pixel(layout, image, cx, cy, dpi).tolist())
        assert got in allowed, (got, colormap(cmap).rgba(values[row, col])[:3])
        seen.add(got)
    assert len(seen) > 1  # the towers do not all share one colour
