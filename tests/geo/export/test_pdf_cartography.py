"""What a field crew reads off the sheet (issue 14, finding 7): tower names and zone
ranks in the PDF's text layer without collisions, and a field that prints smooth at
1:4,000 rather than as 5 m stair steps (rendered with pdfium and measured)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from geo.export import ExportData, PrintOptions
from geo.export.pdf import PrintLayout, write_pdf
from geo.export.print_labels import Label, place_labels
from geo.tiles.raster import Resampling

DPI = 150


def _text(path: Path, page: int = 0) -> str:
    return str(pdfium.PdfDocument(path)[page].get_textpage().get_text_range())


def _assert_apart(layout: PrintLayout) -> None:
    x0, y0, x1, y1 = layout.map_bounds_m
    for placed in layout.labels:
        bx0, by0, bx1, by1 = placed.box_m
        assert x0 <= bx0 < bx1 <= x1 and y0 <= by0 < by1 <= y1
    for a, b in combinations(layout.labels, 2):
        apart = (
            a.box_m[2] <= b.box_m[0]
            or b.box_m[2] <= a.box_m[0]
            or a.box_m[3] <= b.box_m[1]
            or b.box_m[3] <= a.box_m[1]
        )
        assert apart, (a.label.text, b.label.text)


def test_tower_names_and_zone_ranks_are_in_the_text_layer(
    demo_data: ExportData, tmp_path: Path
) -> None:
    options = PrintOptions(paper="A3", orientation="landscape", dpi=DPI, title="Binnenstad")
    path = tmp_path / "map.pdf"
    layout = write_pdf(
        demo_data, demo_data.district_bbox_wgs84(), ("blight", "towers", "zones"), options, path
    )
    assert layout.scale_denominator == 4000
    text = _text(path)
    lines = set(text.replace("\r", "\n").split("\n"))
    for zone in demo_data.zones:  # every rank, and zone 1 is there to tell apart
        assert f"Zone {zone.rank}" in lines or f"Zone {zone.rank} " in text
    names = [t.name for t in demo_data.towers]
    assert len(names) >= 40
    for name in names:
        assert name in text, name
    assert len(layout.labels) == len(names) + len(demo_data.zones)
    _assert_apart(layout)
    # zone 1 is placed first, on its zone
    first = layout.labels[0]
    assert first.label.text == "Zone 1"
    zone1 = next(z for z in demo_data.zones if z.rank == 1)
    assert zone1.geometry_local.buffer(30.0).contains(zone1.geometry_local.representative_point())


def test_a_crowded_sheet_drops_labels_instead_of_overprinting(
    demo_data: ExportData, tmp_path: Path
) -> None:
    options = PrintOptions(paper="A4", orientation="portrait", dpi=DPI)
    layout = write_pdf(
        demo_data,
        demo_data.district_bbox_wgs84(),
        ("towers", "zones"),
        options,
        tmp_path / "a4.pdf",
    )
    assert layout.scale_denominator > 4000
    wanted = len(demo_data.towers) + len(demo_data.zones)
    assert 0 < len(layout.labels) < wanted
    _assert_apart(layout)
    ranks = [p.label.text for p in layout.labels if p.label.kind == "zone"]
    assert "Zone 1" in ranks  # the zones go first


def test_place_labels_moves_a_label_aside_when_the_first_spot_is_taken() -> None:
    def tower(name: str, x: float, priority: int) -> Label:
        return Label(name, "tower", (x, 0.0, x + 10.0, 10.0), None, priority, 7.0)

    placed = place_labels([tower("A", 0.0, 1), tower("B", 2.0, 2)], (-500, -500, 500, 500), 4000)
    assert [p.label.text for p in placed] == ["A", "B"]
    a, b = placed
    assert a.box_m[0] > 10.0  # right of its tower
    assert (
        b.box_m[0] >= a.box_m[2]
        or b.box_m[2] <= a.box_m[0]
        or b.box_m[1] >= a.box_m[3]
        or (b.box_m[3] <= a.box_m[1])
    )


def _largest_jump(demo_data: ExportData, tmp_path: Path, resampling: Resampling) -> int:
    """Render the blight page (no vectors) with pdfium; the largest colour step between
    neighbouring pixels inside the field (20 m in from its edge)."""
    options = PrintOptions(paper="A3", orientation="landscape", dpi=DPI)
    path = tmp_path / f"{resampling}.pdf"
    layout = write_pdf(
        demo_data, demo_data.district_bbox_wgs84(), ("blight",), options, path, resampling
    )
    assert layout.scale_denominator == 4000
    scale = DPI / 72.0
    image = np.asarray(
        pdfium.PdfDocument(path)[0].render(scale=scale).to_pil().convert("RGB"), dtype=np.int16
    )
    x0, y0, x1, y1 = layout.map_box_pt
    bx0, by0, bx1, by1 = layout.map_bounds_m

    def pixel(x_m: float, y_m: float) -> tuple[int, int]:
        x_pt = x0 + (x_m - bx0) / (bx1 - bx0) * (x1 - x0)
        y_pt = y0 + (y_m - by0) / (by1 - by0) * (y1 - y0)
        return round(x_pt * scale), round(image.shape[0] - y_pt * scale)

    gx0, gy0, gx1, gy1 = demo_data.grid.spec.bounds_m
    c0, r0 = pixel(gx0 + 20.0, gy1 - 20.0)
    c1, r1 = pixel(gx1 - 20.0, gy0 + 20.0)
    crop = image[r0:r1, c0:c1]
    assert crop.shape[0] > 500 and crop.shape[1] > 500
    steps_x = np.abs(np.diff(crop, axis=1)).max()
    steps_y = np.abs(np.diff(crop, axis=0)).max()
    return int(max(steps_x, steps_y))


def test_the_field_prints_smooth_not_in_cell_blocks(demo_data: ExportData, tmp_path: Path) -> None:
    smooth = _largest_jump(demo_data, tmp_path, "bilinear")
    blocks = _largest_jump(demo_data, tmp_path, "nearest")
    # 5 m cells are ~7 px at 1:4,000 and 150 dpi: bilinear spreads each step over them
    assert blocks >= 20
    assert smooth * 2.5 <= blocks, (smooth, blocks)
