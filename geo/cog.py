"""Cloud-Optimized GeoTIFF output of a :class:`geo.grid.Grid` (rasterio / GDAL's COG driver)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy

from geo.grid import Grid, GridSpec

__all__ = ["BAND_NAMES", "bands_to_cog", "grid_to_cog"]

BAND_NAMES = ("intensity", "std_error")


def grid_to_cog(grid: Grid, tags: Mapping[str, str] | None = None, blocksize: int = 256) -> bytes:
    """A COG with two float32 bands: the values and their standard error.

    NaN marks cells without an estimate (also declared as nodata). ``tags`` become
    dataset metadata (method, data version...). Overviews are built by the COG driver.
    """
    bands = np.stack([grid.values, grid.std_error])
    return bands_to_cog(grid.spec, bands, BAND_NAMES, tags=tags, blocksize=blocksize)


def bands_to_cog(
    spec: GridSpec,
    bands: npt.ArrayLike,
    descriptions: Sequence[str],
    band_tags: Sequence[Mapping[str, str]] | None = None,
    tags: Mapping[str, str] | None = None,
    blocksize: int = 256,
) -> bytes:
    """A COG of ``bands`` (shape ``(count, height, width)``, stored as float32) on ``spec``.

    Band ``k`` (1-based) gets ``descriptions[k - 1]`` and ``band_tags[k - 1]``; ``tags``
    become dataset metadata. NaN is the declared nodata. A plain GeoTIFF is written in
    memory, then copied by GDAL's COG driver (tiles, DEFLATE with the floating-point
    predictor, averaged overviews).
    """
    data = np.asarray(bands, dtype=np.float32)
    if data.ndim != 3 or data.shape[1:] != spec.shape or data.shape[0] != len(descriptions):
        raise ValueError(
            f"bands of shape {data.shape} do not fit {spec.shape} x {len(descriptions)}"
        )
    profile = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": data.shape[0],
        "dtype": "float32",
        "crs": spec.crs.to_wkt(),
        "transform": spec.transform,
        "nodata": np.nan,
    }
    with MemoryFile() as src_mem:
        with src_mem.open(**profile) as dst:
            dst.write(data)
            for index, description in enumerate(descriptions, start=1):
                dst.set_band_description(index, description)
                if band_tags is not None:
                    dst.update_tags(index, **dict(band_tags[index - 1]))
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
