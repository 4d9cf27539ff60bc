"""What a session sees: its :class:`View`, and a table of all views for fan-out.

A view is a disc of ``range_m`` around the viewer (2D, in the hub's local metric
frame) and a set of layers; ``near`` detail overlays only count within
``near_m = min(range_m, near_range_m)``. Distances are to an overlay's footprint
when it has one (:mod:`service.stream.shapes`), else to its anchor.

Hysteresis: an overlay *enters* a view within its reach and, once held, *leaves*
only beyond its reach plus the view's ``margin_m``. What a view holds is kept per
slot (:class:`SlotState`), since between the two radii membership depends on the
past. :class:`ViewTable` keeps every view in numpy columns so that one publish tests
its changed overlays against all sessions at once instead of looping over sessions
in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ar_assets.overlay import Layer
from service.stream.motion import MotionFilter
from service.stream.shapes import Footprint

__all__ = ["LAYER_BITS", "SlotState", "View", "ViewTable", "layer_mask"]

LAYER_BITS: dict[Layer, int] = {layer: 1 << i for i, layer in enumerate(Layer)}
_MAX_CELLS = 2_000_000  # bound of one (overlays x views) test, to bound temporary memory


def layer_mask(layers: Iterable[Layer]) -> int:
    """The bit mask of a set of layers."""
    mask = 0
    for layer in layers:
        mask |= LAYER_BITS[layer]
    return mask


@dataclass(frozen=True, slots=True)
class View:
    """A viewer position (lon/lat and local metres), its ranges, margin and layers.

    ``margin_m`` is how far beyond its reach a held overlay may be before it leaves;
    ``heading_deg`` (compass, clockwise from north) orders what is sent, ahead first.
    """

    lon: float
    lat: float
    x_m: float
    y_m: float
    range_m: float
    near_m: float
    layers: frozenset[Layer]
    mask: int
    margin_m: float = 0.0
    heading_deg: float | None = None

    @classmethod
    def at(
        cls,
        lon: float,
        lat: float,
        xy_m: tuple[float, float],
        range_m: float,
        near_range_m: float,
        layers: Iterable[Layer],
        margin_m: float = 0.0,
        heading_deg: float | None = None,
    ) -> View:
        """A view at ``lon, lat`` (local ``xy_m``) whose near reach is ``min(range, near)``."""
        chosen = frozenset(layers)
        near_m = min(range_m, near_range_m)
        return cls(
            lon, lat, xy_m[0], xy_m[1], range_m, near_m, chosen, layer_mask(chosen),
            margin_m, heading_deg,
        )  # fmt: skip

    def reach_m(self, near: bool) -> float:
        """Distance within which an overlay of this detail enters the view."""
        return self.near_m if near else self.range_m

    def ahead(self, x_m: float, y_m: float) -> bool:
        """Whether ``(x_m, y_m)`` lies within 90 degrees of the heading (always without one)."""
        if self.heading_deg is None:
            return True
        heading = math.radians(self.heading_deg)
        return (x_m - self.x_m) * math.sin(heading) + (y_m - self.y_m) * math.cos(heading) >= 0.0


@dataclass(slots=True)
class SlotState:
    """What a view holds now (ids sent and not removed) and its viewer's motion filter."""

    held: set[str] = field(default_factory=set)
    motion: MotionFilter | None = None


class ViewTable:
    """Views in numpy columns, addressed by slot; free slots are reused."""

    def __init__(self, capacity: int = 64) -> None:
        self._x = np.zeros(capacity)
        self._y = np.zeros(capacity)
        self._far2 = np.full(capacity, -1.0)  # -1: matches nothing (free slot)
        self._near2 = np.full(capacity, -1.0)
        self._far_out2 = np.full(capacity, -1.0)  # (reach + margin)^2: where held ones leave
        self._near_out2 = np.full(capacity, -1.0)
        self._mask = np.zeros(capacity, dtype=np.int64)
        self._free = list(range(capacity - 1, -1, -1))
        self._used = 0
        self._states: dict[int, SlotState] = {}

    def __len__(self) -> int:
        return self._used

    def add(self, view: View) -> int:
        """Store ``view`` in a free slot (holding nothing yet) and return the slot."""
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._used += 1
        self._states[slot] = SlotState()
        self.set(slot, view)
        return slot

    def state(self, slot: int) -> SlotState:
        """What the view in ``slot`` holds, and its motion filter."""
        return self._states[slot]

    @property
    def states(self) -> dict[int, SlotState]:
        """Every used slot's :class:`SlotState` (read it, do not add or remove slots)."""
        return self._states

    def set(self, slot: int, view: View) -> None:
        """Replace the view in ``slot`` (what it holds is the caller's business)."""
        self._x[slot], self._y[slot] = view.x_m, view.y_m
        self._far2[slot] = view.range_m**2
        self._near2[slot] = view.near_m**2
        self._far_out2[slot] = (view.range_m + view.margin_m) ** 2
        self._near_out2[slot] = (view.near_m + view.margin_m) ** 2
        self._mask[slot] = view.mask

    def remove(self, slot: int) -> None:
        """Free ``slot``: it matches nothing until reused."""
        self._far2[slot] = self._near2[slot] = -1.0
        self._far_out2[slot] = self._near_out2[slot] = -1.0
        self._mask[slot] = 0
        self._states.pop(slot, None)
        self._free.append(slot)
        self._used -= 1

    def _grow(self) -> None:
        old = len(self._x)
        new = old * 2
        self._x = np.resize(self._x, new)
        self._y = np.resize(self._y, new)
        more = np.full(new - old, -1.0)
        self._far2 = np.concatenate([self._far2, more])
        self._near2 = np.concatenate([self._near2, more])
        self._far_out2 = np.concatenate([self._far_out2, more])
        self._near_out2 = np.concatenate([self._near_out2, more])
        self._mask = np.concatenate([self._mask, np.zeros(new - old, dtype=np.int64)])
        self._free.extend(range(new - 1, old - 1, -1))

    def visible(
        self,
        x_m: NDArray[np.float64],
        y_m: NDArray[np.float64],
        bits: NDArray[np.int64],
        near: NDArray[np.bool_],
        footprints: Sequence[Footprint | None] | None = None,
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """``(enters, stays)``: ``(len(x_m), capacity)`` booleans, which view has which point.

        ``enters``: within the view's reach; ``stays``: within reach plus margin (a
        superset). Distances are to ``footprints[i]`` when given, else to the point.
        NaN coordinates (an absent old version) are seen by nobody.
        """
        dx = x_m[:, None] - self._x[None, :]
        dy = y_m[:, None] - self._y[None, :]
        d2 = dx * dx + dy * dy
        layer = (bits[:, None] & self._mask[None, :]) != 0
        inner2 = np.where(near[:, None], self._near2[None, :], self._far2[None, :])
        outer2 = np.where(near[:, None], self._near_out2[None, :], self._far_out2[None, :])
        enters: NDArray[np.bool_] = (d2 <= inner2) & layer
        stays: NDArray[np.bool_] = (d2 <= outer2) & layer
        if footprints is not None:
            self._by_footprint(d2, inner2, outer2, layer, footprints, enters, stays)
        return enters, stays

    def _by_footprint(
        self,
        d2: NDArray[np.float64],
        inner2: NDArray[np.float64],
        outer2: NDArray[np.float64],
        layer: NDArray[np.bool_],
        footprints: Sequence[Footprint | None],
        enters: NDArray[np.bool_],
        stays: NDArray[np.bool_],
    ) -> None:
        """Decide, by exact footprint distance, the pairs the anchor distance left open."""
        for row, footprint in enumerate(footprints):
            if footprint is None:
                continue
            bound = np.sqrt(d2[row]) - footprint.radius_m  # lower bound of the distance
            near_enough = (bound <= 0) | (bound * bound <= outer2[row])
            open_ = ~enters[row] & layer[row] & (outer2[row] >= 0) & near_enough
            cols = np.nonzero(open_)[0]
            if cols.size == 0:
                continue
            dist = footprint.distances_m(self._x[cols], self._y[cols])
            enters[row, cols] |= dist * dist <= inner2[row, cols]
            stays[row, cols] |= dist * dist <= outer2[row, cols]

    def chunks(self, n_points: int) -> Iterator[slice]:
        """Row slices that keep each :meth:`visible` matrix under a fixed size."""
        step = max(1, _MAX_CELLS // max(1, len(self._x)))
        for start in range(0, n_points, step):
            yield slice(start, min(n_points, start + step))
