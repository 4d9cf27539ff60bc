"""Labels on the print sheet: tower names and zone ranks, placed without collisions.

Placement is greedy by priority (zone 1 first, then the other zones by rank, then the
towers): each label tries a few positions around its feature (zones: centred on a
point inside the zone, then around it; towers: right, left, above, below and the
diagonals of the footprint) and takes the first whose box overlaps no label placed
before and lies inside the map frame. A label with no free position is left out
rather than printed over another. Boxes are measured from the glyph outlines of the
font matplotlib prints with (:class:`matplotlib.textpath.TextPath`), so what is
checked is what is printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from shapely.geometry.base import BaseGeometry

__all__ = ["Label", "PlacedLabel", "place_labels", "text_size_pt", "tower_labels", "zone_labels"]

Box = tuple[float, float, float, float]
HAlign = Literal["left", "center", "right"]
VAlign = Literal["bottom", "center", "top"]

_PT_PER_MM = 72.0 / 25.4
_PAD_PT = 1.2  # the white box around the text, on each side
_GAP_PT = 1.5  # between a feature and its label


@dataclass(frozen=True, slots=True)
class Label:
    """A label wanted on the sheet.

    Attributes
    ----------
    text : str
    kind : {"zone", "tower"}
    feature_box_m : (minx, miny, maxx, maxy)
        The feature's extent in the sheet's local frame (metres); positions are tried
        around it (and, for zones, first at its centre ``inside_m``).
    inside_m : (x, y) or None
        A point inside the feature where a centred label may go (zones).
    priority : int
        Lower is placed first.
    font_pt : float
    bold : bool
    """

    text: str
    kind: str
    feature_box_m: Box
    inside_m: tuple[float, float] | None
    priority: int
    font_pt: float
    bold: bool = False


@dataclass(frozen=True, slots=True)
class PlacedLabel:
    """A label where it is printed: its box (text plus white padding, metres in the
    local frame); the text is centred in it."""

    label: Label
    box_m: Box

    @property
    def centre_m(self) -> tuple[float, float]:
        """Where the text is anchored (centred both ways)."""
        x0, y0, x1, y1 = self.box_m
        return ((x0 + x1) / 2.0, (y0 + y1) / 2.0)


def zone_labels(zones: Iterable[tuple[int, BaseGeometry]], font_pt: float) -> list[Label]:
    """``Zone <rank>`` labels of (rank, local polygon) pairs, rank 1 placed first."""
    out = []
    for rank, polygon in zones:
        inside = polygon.representative_point()
        out.append(
            Label(
                f"Zone {rank}",
                "zone",
                _bounds(polygon),
                (inside.x, inside.y),
                rank,
                font_pt,
                bold=True,
            )
        )
    return out


def tower_labels(towers: Iterable[tuple[str, BaseGeometry]], font_pt: float) -> list[Label]:
    """Labels of (name, local footprint) pairs, placed after every zone."""
    return [
        Label(name, "tower", _bounds(footprint), None, 10_000 + i, font_pt)
        for i, (name, footprint) in enumerate(towers)
        if name
    ]


def _bounds(geom: BaseGeometry) -> Box:
    minx, miny, maxx, maxy = geom.bounds
    return (float(minx), float(miny), float(maxx), float(maxy))


@lru_cache(maxsize=4096)
def text_size_pt(text: str, font_pt: float, bold: bool) -> tuple[float, float]:
    """Width and height (points) of ``text`` in matplotlib's default font."""
    prop = FontProperties(size=font_pt, weight="bold" if bold else "normal")
    extents = TextPath((0.0, 0.0), text, prop=prop).get_extents()
    return float(extents.width), max(float(extents.height), font_pt * 0.75)


def _candidates(label: Label, gap: float) -> list[tuple[float, float, HAlign, VAlign]]:
    """Anchor points and alignments to try, best first."""
    x0, y0, x1, y1 = label.feature_box_m
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    out: list[tuple[float, float, HAlign, VAlign]] = []
    if label.inside_m is not None:
        out.append((label.inside_m[0], label.inside_m[1], "center", "center"))
    out += [
        (x1 + gap, cy, "left", "center"),
        (x0 - gap, cy, "right", "center"),
        (cx, y1 + gap, "center", "bottom"),
        (cx, y0 - gap, "center", "top"),
        (x1 + gap, y1 + gap, "left", "bottom"),
        (x0 - gap, y1 + gap, "right", "bottom"),
        (x1 + gap, y0 - gap, "left", "top"),
        (x0 - gap, y0 - gap, "right", "top"),
    ]
    return out


def _box(x: float, y: float, ha: HAlign, va: VAlign, w: float, h: float) -> Box:
    left = {"left": x, "center": x - w / 2.0, "right": x - w}[ha]
    bottom = {"bottom": y, "center": y - h / 2.0, "top": y - h}[va]
    return (left, bottom, left + w, bottom + h)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a: Box, frame: Box) -> bool:
    return frame[0] <= a[0] and a[2] <= frame[2] and frame[1] <= a[1] and a[3] <= frame[3]


def place_labels(
    labels: Sequence[Label], bounds_m: Box, scale_denominator: int
) -> list[PlacedLabel]:
    """Place ``labels`` on a map frame showing ``bounds_m`` at 1:``scale_denominator``.

    Returns the placed labels, in placement order; no two boxes (text plus its white
    padding) overlap, and every box lies inside ``bounds_m``.
    """
    m_per_pt = scale_denominator / 1000.0 / _PT_PER_MM
    placed: list[PlacedLabel] = []
    for label in sorted(labels, key=lambda lb: lb.priority):
        w_pt, h_pt = text_size_pt(label.text, label.font_pt, label.bold)
        w, h = (w_pt + 2 * _PAD_PT) * m_per_pt, (h_pt + 2 * _PAD_PT) * m_per_pt
        for x, y, ha, va in _candidates(label, _GAP_PT * m_per_pt):
            box = _box(x, y, ha, va, w, h)
            if _inside(box, bounds_m) and not any(_overlaps(box, p.box_m) for p in placed):
                placed.append(PlacedLabel(label, box))
                break
    return placed
