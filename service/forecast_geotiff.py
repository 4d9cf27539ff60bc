"""Forecast probability grids as a Cloud-Optimized GeoTIFF (one float32 band per day).

The same pattern as :func:`geo.cog.grid_to_cog`: write a plain GeoTIFF in memory with
rasterio, then copy it with GDAL's COG driver (tiles, DEFLATE, overviews).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy

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
    profile = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": len(grids),
        "dtype": "float32",
        "crs": spec.crs.to_wkt(),
        "transform": spec.transform,
        "nodata": np.nan,
    }
    bands = np.stack([g.values for g in grids]).astype(np.float32)
    with MemoryFile() as src_mem:
        with src_mem.open(**profile) as dst:
            dst.write(bands)
            for index, day in enumerate(days, start=1):
                dst.set_band_description(index, f"probability_day_{day}")
                dst.update_tags(index, day=str(day), quantity="probability")
            dst.update_tags(**dict(tags or {}))
        with src_mem.open() as src, MemoryFile() as out_mem:
            rio_copy(
                src,
                out_mem.name,
                driver="COG",
                blocksize=blocksize,
                compress="DEFLATE",
                predictor=3,
                overview_resampling="average",
            )
            return bytes(out_mem.read())
