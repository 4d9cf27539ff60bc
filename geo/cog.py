"""Cloud-Optimized GeoTIFF output of a :class:`geo.grid.Grid` (rasterio / GDAL's COG driver)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy

from geo.grid import Grid

__all__ = ["BAND_NAMES", "grid_to_cog"]

BAND_NAMES = ("intensity", "std_error")


def grid_to_cog(grid: Grid, tags: Mapping[str, str] | None = None, blocksize: int = 256) -> bytes:
    """A COG with two float32 bands: the values and their standard error.

    NaN marks cells without an estimate (also declared as nodata). ``tags`` become
    dataset metadata (method, data version...). Overviews are built by the COG driver.
    """
    spec = grid.spec
    profile = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": 2,
        "dtype": "float32",
        "crs": spec.crs.to_wkt(),
        "transform": spec.transform,
        "nodata": np.nan,
    }
    bands = np.stack([grid.values, grid.std_error]).astype(np.float32)
    with MemoryFile() as src_mem:
        with src_mem.open(**profile) as dst:
            dst.write(bands)
            for index, name in enumerate(BAND_NAMES, start=1):
                dst.set_band_description(index, name)
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
