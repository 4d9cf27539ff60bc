"""Export requests: every bad input is refused naming its field; sizes and tile budgets."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import box

from geo.errors import InvalidParameter, OutsideDistrict
from geo.export import ExportData, ExportSpec, PrintOptions, check_spec
from geo.export.spec import tile_count, tiled_layer_count

MM_TO_PT = 72.0 / 25.4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bbox_wgs84": (5.2, 52.0, 5.1, 52.1)}, "bbox"),
        ({"bbox_wgs84": (5.1, 52.1, 5.2, 52.0)}, "bbox"),
        ({"bbox_wgs84": (5.1, 52.0, 181.0, 52.1)}, "bbox"),
        ({"bbox_wgs84": (5.1, -89.0, 5.2, 52.1)}, "bbox"),
        ({"bbox_wgs84": (5.1, 52.0, float("nan"), 52.1)}, "bbox"),
        ({"zooms": (16, 15)}, "zooms"),
        ({"zooms": (9, 15)}, "zooms"),
        ({"zooms": (15, 21)}, "zooms"),
        ({"layers": ("blight", "roads")}, "layers.1"),
        ({"layers": ()}, "layers"),
        ({"layers": ("towers", "towers")}, "layers"),
        ({"formats": ("svg",)}, "formats.0"),
    ],
)
def test_bad_specs_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        ExportSpec(**kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dpi": 149}, "print.dpi"),
        ({"dpi": 601}, "print.dpi"),
        ({"paper": "A5"}, "print.paper"),
        ({"orientation": "diagonal"}, "print.orientation"),
    ],
)
def test_bad_print_options_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        PrintOptions(**kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("paper", "orientation", "expected_mm"),
    [
        ("A4", "portrait", (210, 297)),
        ("A4", "landscape", (297, 210)),
        ("A3", "landscape", (420, 297)),
        ("A2", "portrait", (420, 594)),
        ("Letter", "landscape", (279.4, 215.9)),
    ],
)
def test_sheet_sizes(paper: Any, orientation: Any, expected_mm: tuple[float, float]) -> None:
    options = PrintOptions(paper=paper, orientation=orientation)
    assert options.size_mm == pytest.approx(expected_mm)
    assert options.size_pt == pytest.approx(tuple(v * MM_TO_PT for v in expected_mm))


def test_letter_is_612_by_792_points() -> None:
    assert PrintOptions(paper="Letter", orientation="portrait").size_pt == pytest.approx((612, 792))


def test_a_bbox_away_from_the_district_is_refused(demo_data: ExportData) -> None:
    with pytest.raises(OutsideDistrict) as err:
        check_spec(ExportSpec(bbox_wgs84=(13.3, 52.4, 13.5, 52.6)), demo_data)
    assert err.value.field == "bbox"


def test_the_tile_budget_is_enforced(demo_data: ExportData) -> None:
    spec = ExportSpec(zooms=(14, 20), formats=("mbtiles",))
    area = demo_data.district_bbox_wgs84()
    needed = tile_count(area, spec.zooms) * tiled_layer_count(spec)
    assert tiled_layer_count(spec) == 3  # blight, uncertainty, one vector set
    with pytest.raises(InvalidParameter) as err:
        check_spec(spec, demo_data, max_tiles=needed - 1)
    assert err.value.field == "zooms"
    assert check_spec(spec, demo_data, max_tiles=needed) == area


def test_a_partly_outside_bbox_is_clipped_to_the_district(demo_data: ExportData) -> None:
    west, south, east, north = demo_data.district_bbox_wgs84()
    spec = ExportSpec(bbox_wgs84=(west - 1.0, south - 1.0, (west + east) / 2, north))
    area = check_spec(spec, demo_data)
    assert area == pytest.approx((west, south, (west + east) / 2, north))


def test_a_bbox_in_the_margin_but_off_the_field_is_refused(demo_data: ExportData) -> None:
    _, south, east, north = demo_data.district_bbox_wgs84()
    in_margin = (east + 0.002, south, east + 0.004, north)  # ~140-280 m east of the grid
    assert box(*in_margin).intersects(demo_data.district_wgs84)
    with pytest.raises(OutsideDistrict) as err:
        check_spec(ExportSpec(bbox_wgs84=in_margin), demo_data)
    assert err.value.field == "bbox"
