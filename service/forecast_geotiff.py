"""Forecast probability grids as a Cloud-Optimized GeoTIFF (one float32 band per day).

Written by :func:`geo.cog.bands_to_cog`, as the field's COG is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from geo.cog import bands_to_cog
from geo.errors import InvalidParameter
from geo.grid import Grid

__all__ = ["probability_cog"]


def probability_cog(
    grids: Sequence[Grid],
    days: Sequence[int],
    tags: Mapping[str, str] | None = None,
    blocksize: int = 256,
) -> bytes:
    """A COG with one float32 band per forecast day: the probability of blight, [0, 1].

    Band ``k`` (1-based) is ``days[k - 1]``; its description is ``probability_day_<d>``
    and its tags hold ``day`` and ``quantity=probability``. ``tags`` become dataset
    metadata (forecast id, data version...).

    Raises
    ------
    InvalidParameter
        If there is no grid, the days do not match the grids, or the grids differ.
    """
    if not grids or len(grids) != len(days):
        raise InvalidParameter("must hold one grid per day, at least one", "grids")
    spec = grids[0].spec
    if any(g.spec != spec for g in grids):
        raise InvalidParameter("must all share one grid", "grids")
    return bands_to_cog(
        spec,
        np.stack([g.values for g in grids]),
        [f"probability_day_{day}" for day in days],
        band_tags=[{"day": str(day), "quantity": "probability"} for day in days],
        tags=tags,
        blocksize=blocksize,
    )
