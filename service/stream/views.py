"""What a session sees: its :class:`View`, and a table of all views for fan-out.

A view is a disc of ``range_m`` around the viewer (2D, in the hub's local metric
frame) and a set of layers; ``near`` detail overlays only count within
``near_m = min(range_m, near_range_m)``. :class:`ViewTable` keeps every view in
numpy columns so that one publish tests its changed overlays against all sessions at
once instead of looping over sessions in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ar_assets.overlay import Layer

__all__ = ["LAYER_BITS", "View", "ViewTable", "layer_mask"]

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
    """A viewer position (lon/lat and local metres), its ranges and its layers."""

    lon: float
    lat: float
    x_m: float
    y_m: float
    range_m: float
    near_m: float
    layers: frozenset[Layer]
    mask: int

    @classmethod
    def at(
        cls,
        lon: float,
        lat: float,
        xy_m: tuple[float, float],
        range_m: float,
        near_range_m: float,
        layers: Iterable[Layer],
    ) -> View:
        """A view at ``lon, lat`` (local ``xy_m``) whose near reach is ``min(range, near)``."""
        chosen = frozenset(layers)
        near_m = min(range_m, near_range_m)
        return cls(lon, lat, xy_m[0], xy_m[1], range_m, near_m, chosen, layer_mask(chosen))

    def sees(self, x_m: float, y_m: float, bit: int, near: bool) -> bool:
        """Whether an anchor at ``(x_m, y_m)`` of layer ``bit`` and detail ``near`` is in view."""
        if not self.mask & bit:
            return False
        reach = self.near_m if near else self.range_m
        dx, dy = x_m - self.x_m, y_m - self.y_m
        return dx * dx + dy * dy <= reach * reach


class ViewTable:
    """Views in numpy columns, addressed by slot; free slots are reused."""

    def __init__(self, capacity: int = 64) -> None:
        self._x = np.zeros(capacity)
        self._y = np.zeros(capacity)
        self._far2 = np.full(capacity, -1.0)  # -1: matches nothing (free slot)
        self._near2 = np.full(capacity, -1.0)
        self._mask = np.zeros(capacity, dtype=np.int64)
        self._free = list(range(capacity - 1, -1, -1))
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def add(self, view: View) -> int:
        """Store ``view`` in a free slot and return the slot."""
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._used += 1
        self.set(slot, view)
        return slot

    def set(self, slot: int, view: View) -> None:
        """Replace the view in ``slot``."""
        self._x[slot], self._y[slot] = view.x_m, view.y_m
        self._far2[slot] = view.range_m**2
        self._near2[slot] = view.near_m**2
        self._mask[slot] = view.mask

    def remove(self, slot: int) -> None:
        """Free ``slot``: it matches nothing until reused."""
        self._far2[slot] = self._near2[slot] = -1.0
        self._mask[slot] = 0
        self._free.append(slot)
        self._used -= 1

    def _grow(self) -> None:
        old = len(self._x)
        new = old * 2
        self._x = np.resize(self._x, new)
        self._y = np.resize(self._y, new)
        self._far2 = np.concatenate([self._far2, np.full(new - old, -1.0)])
        self._near2 = np.concatenate([self._near2, np.full(new - old, -1.0)])
        self._mask = np.concatenate([self._mask, np.zeros(new - old, dtype=np.int64)])
        self._free.extend(range(new - 1, old - 1, -1))

    def visible(
        self,
        x_m: NDArray[np.float64],
        y_m: NDArray[np.float64],
        bits: NDArray[np.int64],
        near: NDArray[np.bool_],
    ) -> NDArray[np.bool_]:
        """``(len(x_m), capacity)`` booleans: which view sees which point.

        NaN coordinates (an absent old version) are seen by nobody.
        """
        dx = x_m[:, None] - self._x[None, :]
        dy = y_m[:, None] - self._y[None, :]
        reach2 = np.where(near[:, None], self._near2[None, :], self._far2[None, :])
        seen: NDArray[np.bool_] = (dx * dx + dy * dy <= reach2) & (
            (bits[:, None] & self._mask[None, :]) != 0
        )
        return seen

    def chunks(self, n_points: int) -> Iterator[slice]:
        """Row slices that keep each :meth:`visible` matrix under a fixed size."""
        step = max(1, _MAX_CELLS // max(1, len(self._x)))
        for start in range(0, n_points, step):
            yield slice(start, min(n_points, start + step))
