"""A GeoPackage of the exported area: towers and zones as vector layers, the field as rasters.

Vector layers go through geopandas/pyogrio (EPSG:4326, as GeoJSON); each raster layer
is a single-band float32 tile table (the GeoPackage "tiled gridded coverage" extension)
in the district's local frame, written by GDAL's GPKG raster driver into the same file.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from shapely.geometry import box

from geo.export.area import area_local, crop_grid
from geo.export.spec import BBox, ExportData
from geo.grid import Grid
from geo.towers_io import towers_to_geodataframe

__all__ = ["RASTER_TABLES", "write_gpkg"]

RASTER_TABLES = {"blight": "intensity", "uncertainty": "std_error"}
"""Raster table name -> what it holds (band of the field)."""


def _zones_frame(data: ExportData, area: BBox) -> gpd.GeoDataFrame:
    rows = []
    for zone in data.zones:
        if not zone.geometry_wgs84.intersects(box(*area)):
            continue
        props = zone.properties()
        props["towers"] = json.dumps(props["towers"])
        props["tiers"] = json.dumps(props["tiers"])
        rows.append({**props, "geometry": zone.geometry_wgs84})
    columns = [*data.zones[0].properties(), "geometry"] if data.zones else ["id", "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")


def _write_raster(path: Path, table: str, values: np.ndarray, data: ExportData, grid: Grid) -> None:
    spec = grid.spec
    with rasterio.open(
        path,
        "w",
        driver="GPKG",
        width=spec.width,
        height=spec.height,
        count=1,
        dtype="float32",
        crs=spec.crs.to_wkt(),
        transform=spec.transform,
        nodata=np.nan,
        APPEND_SUBDATASET="YES",
        RASTER_TABLE=table,
        RASTER_IDENTIFIER=table,
        RASTER_DESCRIPTION=f"blight field {RASTER_TABLES[table]}, data version {data.data_version}",
        TILE_FORMAT="TIFF",
    ) as dst:
        dst.write(values.astype(np.float32), 1)


def write_gpkg(data: ExportData, area_wgs84: BBox, layers: tuple[str, ...], path: Path) -> int:
    """Write the requested layers of ``area_wgs84`` into a new GeoPackage; return its size.

    ``towers``/``zones`` become vector layers of those names (towers whose footprint,
    zones whose polygon, meets the area); ``blight`` and ``uncertainty`` become raster
    tables of the field's intensity and standard error.
    """
    path.unlink(missing_ok=True)
    area = box(*area_wgs84)
    if "towers" in layers:
        towers = [t for t in data.towers if t.footprint_wgs84.intersects(area)]
        pyogrio.write_dataframe(towers_to_geodataframe(towers), path, layer="towers", driver="GPKG")
    if "zones" in layers:
        pyogrio.write_dataframe(_zones_frame(data, area_wgs84), path, layer="zones", driver="GPKG")
    grid = crop_grid(data.grid, area_local(data.grid, data.frame, area_wgs84))
    for table, band in RASTER_TABLES.items():
        if table in layers:
            values = grid.values if band == "intensity" else grid.std_error
            _write_raster(path, table, values, data, grid)
    return path.stat().st_size
