"""Small basemap files for tests: buildings and streets around a point, written in the
Dutch RD New grid (EPSG:28992, metres, not WGS84) or as a PMTiles archive of MVT."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from pyproj import Transformer
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry

from tests.conftest import ORIGIN

RD_NEW = "EPSG:28992"


def rd_features(
    centre_lonlat: tuple[float, float] = ORIGIN, n: int = 5
) -> tuple[list[Polygon], list[LineString]]:
    """``n`` x ``n`` 12 m buildings on a 40 m raster and the streets between them, in RD New."""
    x0, y0 = Transformer.from_crs("EPSG:4326", RD_NEW, always_xy=True).transform(*centre_lonlat)
    buildings = [
        box(x0 + 40 * i - 6, y0 + 40 * j - 6, x0 + 40 * i + 6, y0 + 40 * j + 6)
        for i in range(-(n // 2), n // 2 + 1)
        for j in range(-(n // 2), n // 2 + 1)
    ]
    half = 40 * (n // 2) + 20
    streets = [
        LineString([(x0 - half, y0 + 20 + 40 * j), (x0 + half, y0 + 20 + 40 * j)])
        for j in range(-(n // 2) - 1, n // 2 + 1)
    ]
    streets += [
        LineString([(x0 + 20 + 40 * i, y0 - half), (x0 + 20 + 40 * i, y0 + half)])
        for i in range(-(n // 2) - 1, n // 2 + 1)
    ]
    return buildings, streets


def write_rd_gpkg(path: Path, centre_lonlat: tuple[float, float] = ORIGIN) -> Path:
    """A GeoPackage with a ``buildings`` and a ``roads`` layer in RD New."""
    buildings, streets = rd_features(centre_lonlat)
    gpd.GeoDataFrame(
        {"name": [f"b{i}" for i in range(len(buildings))]}, geometry=buildings, crs=RD_NEW
    ).to_file(path, layer="buildings", driver="GPKG")
    gpd.GeoDataFrame(
        {"name": [f"s{i}" for i in range(len(streets))]}, geometry=streets, crs=RD_NEW
    ).to_file(path, layer="roads", driver="GPKG")
    return path


def write_pmtiles(path: Path, centre_lonlat: tuple[float, float] = ORIGIN, zoom: int = 16) -> Path:
    """A one-tile PMTiles archive (gzipped MVT) with the buildings and streets around the centre."""
    buildings, streets = rd_features(centre_lonlat)
    to_merc = Transformer.from_crs(RD_NEW, "EPSG:3857", always_xy=True)
    n = 2**zoom
    lon, lat = centre_lonlat
    tx = int((lon + 180.0) / 360.0 * n)
    ty = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    world = 2 * 20037508.342789244
    size = world / n
    left, top = -world / 2 + tx * size, world / 2 - ty * size

    def to_tile(geom: BaseGeometry) -> BaseGeometry:  # RD New -> tile pixels, y down
        def f(xy: np.ndarray) -> np.ndarray:
            mx, my = to_merc.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([(mx - left) / size * 4096, (top - my) / size * 4096])

        return shapely.transform(geom, f)

    layers = [
        {
            "name": "building",
            "features": [{"geometry": to_tile(b).wkt, "properties": {}} for b in buildings],
        },
        {
            "name": "transportation",
            "features": [{"geometry": to_tile(s).wkt, "properties": {}} for s in streets],
        },
    ]
    tile = gzip.compress(mapbox_vector_tile.encode(layers, default_options={"y_coord_down": True}))
    with path.open("wb") as handle:
        writer = Writer(handle)
        writer.write_tile(zxy_to_tileid(zoom, tx, ty), tile)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": zoom,
                "max_zoom": zoom,
                "min_lon_e7": int((lon - 0.01) * 1e7),
                "min_lat_e7": int((lat - 0.01) * 1e7),
                "max_lon_e7": int((lon + 0.01) * 1e7),
                "max_lat_e7": int((lat + 0.01) * 1e7),
                "center_zoom": zoom,
                "center_lon_e7": int(lon * 1e7),
                "center_lat_e7": int(lat * 1e7),
            },
            {"name": "test basemap"},
        )
    return path
