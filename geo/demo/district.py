"""A synthetic but realistic district of farm towers: Utrecht-Binnenstad-like city blocks.

The layout is built in a local azimuthal-equidistant frame (metres east/north of
``origin_lonlat``) and converted to WGS84 with pyproj:

* a grid of ``n_blocks = (rows, cols)`` blocks, each 80-110 m along either axis,
  separated by streets 18-25 m wide, centred on the origin;
* the whole grid rotated by 2-6 degrees (either sense), as real street grids are;
* 1-3 towers per block (probabilities 0.85 / 0.12 / 0.03); a block holding *k* towers is
  cut into *k* equal cells along its long axis, and each tower stands in its own cell
  with a setback of at least 3 m from the cell edges, so footprints never overlap;
* each footprint a rectangle with 8-20 m sides, aligned with the grid;
* 4-8 tiers, the lowest 0.6-1.2 m above the base, then 2.5-3.5 m apart; the tower is
  2-3 m taller than its top tier; each tower grows two or three crops;
* ``base_height_m`` is the ground height above the WGS84 ellipsoid: 46 m (Utrecht's
  geoid undulation plus a few metres of ground), a gentle tilt across the district and
  a little noise, always within 45-47 m.

Everything is drawn from one ``numpy.random.Generator`` seeded with ``seed``: the same
seed gives identical towers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon

from geo.demo._frame import LocalFrame
from geo.layer import Tier, Tower

__all__ = ["CROPS", "DEMO_DISTRICT", "demo_towers"]

DEMO_DISTRICT = "Utrecht Binnenstad"

CROPS: tuple[str, ...] = (
    "lettuce",
    "basil",
    "kale",
    "spinach",
    "strawberry",
    "microgreens",
    "tomato",
    "rocket",
    "pak choi",
    "mint",
)
"""Crops grown in the demo towers."""

_STREETS = (
    "Oudegracht",
    "Nieuwegracht",
    "Lange Viestraat",
    "Vredenburg",
    "Neude",
    "Voorstraat",
    "Lange Nieuwstraat",
    "Mariaplaats",
    "Drift",
    "Springweg",
    "Twijnstraat",
    "Wittevrouwenstraat",
)

_BLOCK_M = (80.0, 110.0)
_STREET_M = (18.0, 25.0)
_ROTATION_DEG = (2.0, 6.0)
_TOWERS_PER_BLOCK = (1, 2, 3)
_TOWERS_PER_BLOCK_P = (0.85, 0.12, 0.03)
_SIDE_M = (8.0, 20.0)
_SETBACK_M = 3.0
_TIERS = (4, 8)
_FIRST_TIER_M = (0.6, 1.2)
_TIER_GAP_M = (2.5, 3.5)
_HEADROOM_M = (2.0, 3.0)
_GROUND_M = 46.0


@dataclass(frozen=True, slots=True)
class _Cell:
    """An axis-aligned rectangle in the unrotated grid frame, metres."""

    x0: float
    y0: float
    x1: float
    y1: float


def demo_towers(
    seed: int = 7,
    *,
    origin_lonlat: tuple[float, float] = (5.1214, 52.0907),
    n_blocks: tuple[int, int] = (6, 8),
) -> list[Tower]:
    """Generate a reproducible district of farm towers laid out in city blocks.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same towers.
    origin_lonlat : (float, float)
        WGS84 lon, lat of the centre of the block grid, degrees.
    n_blocks : (int, int)
        Number of block rows (north to south) and columns (west to east).

    Returns
    -------
    list of Tower
        Ordered by block row, block column, then index in the block. Ids read
        ``T-RR-CC-I`` (1-based block row, block column and tower index), e.g.
        ``T-01-02-1``. ``extra`` holds ``block_row`` and ``block_col`` (1-based).

    Raises
    ------
    ValueError
        If ``n_blocks`` is not two positive integers.

    Examples
    --------
    >>> towers = demo_towers()
    >>> len(towers) >= 48
    True
    >>> towers[0].id, towers[0].district
    ('T-01-01-1', 'Utrecht Binnenstad')
    """
    rows, cols = n_blocks
    if rows < 1 or cols < 1:
        raise ValueError("n_blocks must be two positive integers")
    rng = np.random.default_rng(seed)
    frame = LocalFrame(*origin_lonlat)

    x_edges = _edges(rng, cols)
    y_edges = _edges(rng, rows)
    rotation = math.radians(rng.uniform(*_ROTATION_DEG) * rng.choice((-1.0, 1.0)))
    half_x = x_edges[-1][1] / 2.0
    half_y = y_edges[-1][1] / 2.0

    towers: list[Tower] = []
    for r in range(rows):
        # Row 1 is the northernmost: y runs from +half_y downwards.
        y1 = half_y - y_edges[r][0]
        y0 = half_y - y_edges[r][1]
        street = _STREETS[r % len(_STREETS)]
        for c in range(cols):
            block = _Cell(x_edges[c][0] - half_x, y0, x_edges[c][1] - half_x, y1)
            k = int(rng.choice(_TOWERS_PER_BLOCK, p=_TOWERS_PER_BLOCK_P))
            for i, cell in enumerate(_split(block, k)):
                tower_id = f"T-{r + 1:02d}-{c + 1:02d}-{i + 1}"
                number = 1 + 14 * c + 4 * i + int(rng.integers(0, 3))
                footprint = _footprint(rng, cell, rotation, frame)
                slope = 0.6 * (block.x0 + block.x1) / (2.0 * max(half_x, 1.0))
                base = _GROUND_M + slope + float(rng.normal(0.0, 0.2))
                towers.append(
                    _tower(
                        rng,
                        tower_id=tower_id,
                        name=f"{street} {number}",
                        footprint=footprint,
                        base_height_m=round(min(max(base, _GROUND_M - 1.0), _GROUND_M + 1.0), 2),
                        extra={"block_row": r + 1, "block_col": c + 1},
                    )
                )
    return towers


def _edges(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    """Start/end offsets of ``n`` blocks along one axis, streets in between, metres."""
    edges: list[tuple[float, float]] = []
    at = 0.0
    for j in range(n):
        if j:
            at += float(rng.uniform(*_STREET_M))
        size = float(rng.uniform(*_BLOCK_M))
        edges.append((at, at + size))
        at += size
    return edges


def _split(block: _Cell, k: int) -> list[_Cell]:
    """Cut a block into ``k`` equal cells along its longer side."""
    if block.x1 - block.x0 >= block.y1 - block.y0:
        step = (block.x1 - block.x0) / k
        return [
            _Cell(block.x0 + i * step, block.y0, block.x0 + (i + 1) * step, block.y1)
            for i in range(k)
        ]
    step = (block.y1 - block.y0) / k
    return [
        _Cell(block.x0, block.y1 - (i + 1) * step, block.x1, block.y1 - i * step) for i in range(k)
    ]


def _footprint(
    rng: np.random.Generator, cell: _Cell, rotation: float, frame: LocalFrame
) -> Polygon:
    """A rectangle of 8-20 m sides placed inside ``cell`` with a setback, in lon/lat."""
    room_x = cell.x1 - cell.x0 - 2 * _SETBACK_M
    room_y = cell.y1 - cell.y0 - 2 * _SETBACK_M
    w = min(float(rng.uniform(*_SIDE_M)), room_x)
    h = min(float(rng.uniform(*_SIDE_M)), room_y)
    x0 = cell.x0 + _SETBACK_M + float(rng.uniform(0.0, room_x - w))
    y0 = cell.y0 + _SETBACK_M + float(rng.uniform(0.0, room_y - h))
    xs = np.array([x0, x0 + w, x0 + w, x0, x0])
    ys = np.array([y0, y0, y0 + h, y0 + h, y0])
    cos_r, sin_r = math.cos(rotation), math.sin(rotation)
    lon, lat = frame.to_wgs84(xs * cos_r - ys * sin_r, xs * sin_r + ys * cos_r)
    return Polygon(zip(np.round(lon, 8), np.round(lat, 8), strict=True))


def _tower(
    rng: np.random.Generator,
    *,
    tower_id: str,
    name: str,
    footprint: Polygon,
    base_height_m: float,
    extra: dict[str, int],
) -> Tower:
    """Draw the tiers and crops of one tower."""
    n_tiers = int(rng.integers(_TIERS[0], _TIERS[1] + 1))
    gaps = rng.uniform(*_TIER_GAP_M, size=n_tiers - 1)
    heights = float(rng.uniform(*_FIRST_TIER_M)) + np.concatenate(([0.0], np.cumsum(gaps)))
    crops = rng.choice(CROPS, size=int(rng.integers(2, 4)), replace=False)
    tiers = tuple(
        Tier(level=i, height_m=round(float(h), 2), crop=str(rng.choice(crops)))
        for i, h in enumerate(heights)
    )
    height_m = round(tiers[-1].height_m + float(rng.uniform(*_HEADROOM_M)), 2)
    return Tower(
        id=tower_id,
        footprint_wgs84=footprint,
        base_height_m=base_height_m,
        height_m=height_m,
        tiers=tiers,
        name=name,
        district=DEMO_DISTRICT,
        extra=extra,
    )
