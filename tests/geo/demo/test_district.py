"""The demo district: counts, geometry, heights, reproducibility."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely import STRtree

from geo.demo import CROPS, DEMO_DISTRICT, demo_towers
from geo.demo._frame import LocalFrame
from geo.layer import TOWER_ID_PATTERN, Tower

GEOD = Geod(ellps="WGS84")
ORIGIN = (5.1214, 52.0907)


def _metric(tower: Tower, frame: LocalFrame) -> shapely.Polygon:
    lon, lat = np.asarray(tower.footprint_wgs84.exterior.coords).T
    x, y = frame.to_local(lon, lat)
    return shapely.Polygon(zip(x, y, strict=True))


def _sides_m(tower: Tower) -> list[float]:
    coords = list(tower.footprint_wgs84.exterior.coords)
    return [GEOD.inv(*a, *b)[2] for a, b in itertools.pairwise(coords)]


def test_default_count_and_ids(towers: list[Tower]) -> None:
    assert 48 <= len(towers) <= 70
    ids = [t.id for t in towers]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"T-\d{2}-\d{2}-[1-3]", i) for i in ids)
    assert all(re.match(TOWER_ID_PATTERN, i) for i in ids)
    assert towers[0].id == "T-01-01-1"


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7, 12])
def test_counts_per_block_and_tiers(seed: int) -> None:
    towers = demo_towers(seed)
    assert len(towers) >= 48
    per_block: dict[tuple[int, int], int] = {}
    for t in towers:
        key = (t.extra["block_row"], t.extra["block_col"])
        per_block[key] = per_block.get(key, 0) + 1
    assert len(per_block) == 6 * 8
    assert set(per_block.values()) <= {1, 2, 3}
    for t in towers:
        assert 4 <= len(t.tiers) <= 8
        heights = [tier.height_m for tier in t.tiers]
        gaps = np.diff(heights)
        assert np.all((gaps >= 2.49) & (gaps <= 3.51))
        assert 2.0 - 0.01 <= t.height_m - heights[-1] <= 3.0 + 0.01
        assert 0.0 < heights[0] < 2.0


def test_heights_crops_names(towers: list[Tower]) -> None:
    bases = [t.base_height_m for t in towers]
    assert min(bases) >= 45.0 and max(bases) <= 47.0
    assert np.std(bases) > 0.1  # the ground is not flat
    crops = {tier.crop for t in towers for tier in t.tiers}
    assert crops <= set(CROPS)
    assert len(crops) >= 6
    assert all(t.district == DEMO_DISTRICT for t in towers)
    assert len({t.name for t in towers}) == len(towers)
    for t in towers:
        json.dumps(t.properties())


def test_footprints_are_valid_rectangles_of_plausible_size(towers: list[Tower]) -> None:
    for t in towers:
        fp = t.footprint_wgs84
        assert fp.geom_type == "Polygon" and fp.is_valid
        assert len(fp.exterior.coords) == 5
        sides = _sides_m(t)
        assert all(8.0 - 0.05 <= s <= 20.0 + 0.05 for s in sides)
        assert sides[0] == pytest.approx(sides[2], abs=0.02)
        assert sides[1] == pytest.approx(sides[3], abs=0.02)


def test_footprints_do_not_overlap_and_keep_apart(towers: list[Tower]) -> None:
    frame = LocalFrame(*ORIGIN)
    polygons = [_metric(t, frame) for t in towers]
    tree = STRtree(polygons)
    for i, poly in enumerate(polygons):
        near = tree.query(poly.buffer(5.9))
        assert set(near.tolist()) == {i}, towers[i].id


def test_layout_spans_a_plausible_area(towers: list[Tower]) -> None:
    minx, miny, maxx, maxy = shapely.union_all([t.footprint_wgs84 for t in towers]).bounds
    mid_lat = (miny + maxy) / 2
    mid_lon = (minx + maxx) / 2
    west_east = GEOD.inv(minx, mid_lat, maxx, mid_lat)[2]
    south_north = GEOD.inv(mid_lon, miny, mid_lon, maxy)[2]
    assert 400.0 <= west_east <= 1500.0
    assert 400.0 <= south_north <= 1500.0
    # Centred on the origin.
    assert GEOD.inv(*ORIGIN, mid_lon, mid_lat)[2] < 100.0


def test_grid_is_rotated_a_few_degrees(towers: list[Tower]) -> None:
    angles = []
    for t in towers:
        (x0, y0), (x1, y1) = list(t.footprint_wgs84.exterior.coords)[:2]
        azimuth = GEOD.inv(x0, y0, x1, y1)[0]
        angles.append((azimuth % 90.0 + 45.0) % 90.0 - 45.0)  # deviation from the axes
    assert np.ptp(angles) < 0.1  # one grid orientation
    assert 1.9 <= abs(float(np.mean(angles))) <= 6.1


def test_reproducible_and_seed_dependent() -> None:
    a, b, c = demo_towers(5), demo_towers(5), demo_towers(6)
    assert [t.id for t in a] == [t.id for t in b]
    assert all(
        x.footprint_wgs84.equals_exact(y.footprint_wgs84, 0.0) and x.tiers == y.tiers
        for x, y in zip(a, b, strict=True)
    )
    assert [t.footprint_wgs84.wkt for t in a] != [t.footprint_wgs84.wkt for t in c]


def test_origin_and_block_count_are_honoured() -> None:
    towers = demo_towers(3, origin_lonlat=(13.4, 52.52), n_blocks=(2, 3))
    assert 6 <= len(towers) <= 18
    lon, lat = towers[0].centroid_lonlat
    assert math.isclose(lon, 13.4, abs_tol=0.01) and math.isclose(lat, 52.52, abs_tol=0.01)


@pytest.mark.parametrize("n_blocks", [(0, 3), (2, -1)])
def test_rejects_empty_grids(n_blocks: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="n_blocks"):
        demo_towers(n_blocks=n_blocks)
