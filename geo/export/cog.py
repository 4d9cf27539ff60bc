"""The field of the exported area as a Cloud-Optimized GeoTIFF."""

from __future__ import annotations

from pathlib import Path

from geo.cog import grid_to_cog
from geo.export.area import area_local, crop_grid
from geo.export.spec import BBox, ExportData

__all__ = ["write_cog"]


def write_cog(data: ExportData, area_wgs84: BBox, path: Path) -> int:
    """Write the field cut to ``area_wgs84`` as a COG at ``path``; return its size in bytes.

    Two float32 bands (``intensity``, ``std_error``) in the district's local frame, NaN as
    nodata, DEFLATE with overviews (:func:`geo.cog.grid_to_cog`); the tags say the data
    version, time, method and attribution.
    """
    grid = crop_grid(data.grid, area_local(data.grid, data.frame, area_wgs84))
    tags = {
        "data_version": str(data.data_version),
        "reference_time": data.reference_time.isoformat(),
        "method": data.method,
        "attribution": data.attribution,
    }
    blob = grid_to_cog(grid, tags)
    path.write_bytes(blob)
    return len(blob)
