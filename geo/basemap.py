"""An optional offline basemap: building footprints and streets from a user's file.

The map and the print sheet have no external basemap (everything stays on the
service); a planner may give one: a GeoPackage or GeoJSON file in any CRS pyproj knows
(every layer is read), or a PMTiles archive of Mapbox Vector Tiles (its deepest zoom is
read). Polygons become ``building`` features, lines ``street`` features; anything else
(points, labels) is left out. The result is kept as an RFC 7946 GeoJSON
FeatureCollection in lon/lat (:meth:`Basemap.to_geojson`), the one file the web map
and the print export read.

Examples
--------
>>> from shapely.geometry import LineString, box
>>> base = Basemap((BasemapFeature("street", LineString([(5.12, 52.09), (5.13, 52.09)])),))
>>> Basemap.from_geojson(base.to_geojson()) == base
True
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo.crs import WGS84, parse_crs
from geo.errors import UnreadableFile

__all__ = ["KINDS", "MAX_FEATURES", "Basemap", "BasemapFeature", "read_basemap"]

KINDS = ("building", "street")
"""What a basemap holds: building footprints (polygons) and streets (lines)."""

MAX_FEATURES = 200_000
"""More features than this (a whole country's buildings) are refused: clip the file first."""

_SUFFIXES = (".gpkg", ".geojson", ".json", ".pmtiles")
_KIND_OF = {
    "Polygon": "building",
    "MultiPolygon": "building",
    "LineString": "street",
    "MultiLineString": "street",
}


@dataclass(frozen=True, slots=True)
class BasemapFeature:
    """A building (Polygon) or a street (LineString), lon/lat."""

    kind: str
    geometry_wgs84: BaseGeometry


@dataclass(frozen=True, slots=True)
class Basemap:
    """Buildings and streets, lon/lat (EPSG:4326, x = longitude)."""

    features: tuple[BasemapFeature, ...]

    def of_kind(self, kind: str) -> list[BaseGeometry]:
        """The geometries of one kind (``"building"`` or ``"street"``)."""
        return [f.geometry_wgs84 for f in self.features if f.kind == kind]

    def within(self, bbox_wgs84: tuple[float, float, float, float]) -> Basemap:
        """The features that reach into ``bbox_wgs84`` (west, south, east, north)."""
        if not self.features:
            return self
        geoms = np.array([f.geometry_wgs84 for f in self.features], dtype=object)
        hits = shapely.intersects(geoms, shapely.box(*bbox_wgs84))
        return Basemap(tuple(f for f, hit in zip(self.features, hits, strict=True) if hit))

    def to_geojson(self) -> dict[str, Any]:
        """An RFC 7946 FeatureCollection; each feature's ``kind`` is a property."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": mapping(f.geometry_wgs84),
                    "properties": {"kind": f.kind},
                }
                for f in self.features
            ],
        }

    @classmethod
    def from_geojson(cls, body: dict[str, Any]) -> Basemap:
        """The basemap :meth:`to_geojson` wrote."""
        return cls(
            tuple(
                BasemapFeature(str(f["properties"]["kind"]), shape(f["geometry"]))
                for f in body.get("features", [])
            )
        )


def read_basemap(path: str | Path, crs: str | None = None) -> Basemap:
    """Read buildings and streets from a GeoPackage, GeoJSON or PMTiles file.

    Parameters
    ----------
    path : str or Path
        ``.gpkg`` (every vector layer), ``.geojson``/``.json`` or ``.pmtiles``.
    crs : str, optional
        The CRS of the file's coordinates, overriding what the file declares (a
        GeoJSON file without a ``crs`` member counts as EPSG:4326, as RFC 7946 says).
        Without it, the file's own CRS, else EPSG:4326.

    Raises
    ------
    UnreadableFile
        If the file is missing, of another type, unreadable, holds no building or
        street, more than :data:`MAX_FEATURES`, or coordinates that are not lon/lat
        once reprojected (a CRS to give with ``crs``).
    InvalidCRS
        If ``crs`` is unknown.
    """
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise UnreadableFile(f"a basemap is one of {', '.join(_SUFFIXES)} files", "file")
    if not path.is_file():
        raise UnreadableFile("no such file", "file")
    given = parse_crs(crs) if crs else None
    if path.suffix.lower() == ".pmtiles":
        geometries = list(_pmtiles_geometries(path))
    else:
        geometries = list(_ogr_geometries(path, given))
    _check_lonlat(geometries)
    features = []
    for geom in geometries:
        for part in shapely.get_parts(geom):
            kind = _KIND_OF.get(part.geom_type)
            if kind is not None and not part.is_empty:
                features.append(BasemapFeature(kind, part))
        if len(features) > MAX_FEATURES:
            raise UnreadableFile(
                f"more than {MAX_FEATURES:,} buildings and streets: clip the file to the district",
                "file",
            )
    if not features:
        raise UnreadableFile("holds no building (polygon) or street (line)", "file")
    return Basemap(tuple(features))


def _check_lonlat(geometries: list[BaseGeometry]) -> None:
    """Refuse coordinates outside lon/lat ranges (metres read as degrees)."""
    if not geometries:
        return
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(geometries, dtype=object))
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise UnreadableFile(
            "coordinates are not longitude/latitude: give the file's CRS (--crs)", "crs"
        )


def _ogr_geometries(path: Path, given: CRS | None) -> Iterator[BaseGeometry]:
    """Every geometry of every layer, reprojected to lon/lat from ``given`` or else
    the layer's own CRS (EPSG:4326 when it has none)."""
    import pyogrio  # GDAL, only when a file is read
    from pyogrio.raw import read as read_raw

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise UnreadableFile(f"not readable: {exc}", "file") from None
    for layer in layers:
        try:
            meta, _, wkb, _ = read_raw(path, layer=layer, read_geometry=True, columns=[])
        except Exception as exc:
            raise UnreadableFile(f"layer {layer!r} is not readable: {exc}", "file") from None
        if wkb is None or meta.get("geometry_type") is None:
            continue  # a non-spatial table
        source = given or (parse_crs(meta["crs"]) if meta.get("crs") else WGS84)
        geoms = shapely.force_2d(shapely.from_wkb(wkb))
        geoms = geoms[~shapely.is_missing(geoms)]
        if source != WGS84:
            geoms = _to_wgs84(geoms, source)
        yield from geoms


def _to_wgs84(geoms: np.ndarray, source: CRS) -> np.ndarray:
    """Reproject an array of geometries to lon/lat with one transformer."""
    transformer = Transformer.from_crs(source, WGS84, always_xy=True)

    def convert(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return np.asarray(shapely.transform(geoms, convert))


def _pmtiles_geometries(path: Path) -> Iterator[BaseGeometry]:
    """The features of the deepest zoom's tiles of an MVT PMTiles archive, lon/lat."""
    import mapbox_vector_tile
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with path.open("rb") as handle:
        try:
            source = MmapSource(handle)
            header = Reader(source).header()
        except Exception as exc:
            raise UnreadableFile(f"not a PMTiles archive: {exc}", "file") from None
        deepest = header["max_zoom"]
        for (z, x, y), data in all_tiles(source):
            if z != deepest:
                continue
            raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            layers = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})
            for layer in layers.values():
                extent = layer.get("extent", 4096)
                for feature in layer["features"]:
                    geom = shape(feature["geometry"])
                    yield _tile_to_lonlat(geom, z, x, y, extent)


def _tile_to_lonlat(geom: BaseGeometry, z: int, x: int, y: int, extent: int) -> BaseGeometry:
    """Tile pixel coordinates (y down) of tile z/x/y to lon/lat (Web Mercator tiles)."""
    n = 2.0**z

    def convert(coords: np.ndarray) -> np.ndarray:
        fx = (x + coords[:, 0] / extent) / n
        fy = (y + coords[:, 1] / extent) / n
        lon = fx * 360.0 - 180.0
        lat = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * fy))))
        return np.column_stack([lon, lat])

    return shapely.transform(geom, convert)
