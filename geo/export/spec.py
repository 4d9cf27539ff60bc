"""What an export is asked for (:class:`ExportSpec`) and what it is made from (:class:`ExportData`).

Both are frozen dataclasses; :func:`check_spec` checks a request against the data
(bbox inside the district, tile budget) and raises :class:`~geo.errors.InvalidParameter`
or :class:`~geo.errors.OutsideDistrict` naming the offending field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import morecantile
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geo.basemap import Basemap
from geo.crs import LocalFrame
from geo.errors import InvalidParameter, OutsideDistrict
from geo.grid import Grid
from geo.layer import Tower
from geo.zones import RemedyZone

__all__ = [
    "FORMATS",
    "LAYERS",
    "MAX_TILES",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "PAPER_SIZES_MM",
    "RASTER_LAYERS",
    "VECTOR_LAYERS",
    "BBox",
    "ExportData",
    "ExportSpec",
    "PrintOptions",
    "check_spec",
    "tile_count",
    "tiled_layer_count",
]

BBox = tuple[float, float, float, float]
Paper = Literal["A4", "A3", "A2", "Letter"]
Orientation = Literal["portrait", "landscape"]

PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "A2": (420.0, 594.0),
    "Letter": (215.9, 279.4),
}
"""Portrait width and height of each paper size, millimetres (ISO 216; US Letter 8.5 x 11 in)."""

RASTER_LAYERS = ("blight", "uncertainty")
VECTOR_LAYERS = ("towers", "zones")
LAYERS = RASTER_LAYERS + VECTOR_LAYERS
FORMATS = ("mbtiles", "pmtiles", "cog", "gpkg", "pdf")
MIN_ZOOM = 10
"""Below this a district is a few pixels: not worth a package."""
MAX_ZOOM = 20
"""About 0.15 m per pixel at 52 degrees latitude: finer than any field grid."""
MAX_TILES = 100_000
"""Most tiles one export may render (all tiled layers and formats together)."""
MIN_DPI, MAX_DPI = 150, 600

_WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """The sheet of a print export.

    Attributes
    ----------
    paper : {"A4", "A3", "A2", "Letter"}
    orientation : {"portrait", "landscape"}
    dpi : int
        Raster resolution of the map in the PDF, 150 to 600 dots per inch.
    title : str
    """

    paper: Paper = "A3"
    orientation: Orientation = "landscape"
    dpi: int = 300
    title: str = "Blight in the district"

    def __post_init__(self) -> None:
        if self.paper not in PAPER_SIZES_MM:
            raise InvalidParameter(f"must be one of {', '.join(PAPER_SIZES_MM)}", "print.paper")
        if self.orientation not in ("portrait", "landscape"):
            raise InvalidParameter("must be portrait or landscape", "print.orientation")
        if not MIN_DPI <= self.dpi <= MAX_DPI:
            raise InvalidParameter(f"must be within {MIN_DPI} to {MAX_DPI}", "print.dpi")

    @property
    def size_mm(self) -> tuple[float, float]:
        """Sheet width and height in millimetres, in this orientation."""
        short, long = PAPER_SIZES_MM[self.paper]
        return (long, short) if self.orientation == "landscape" else (short, long)

    @property
    def size_pt(self) -> tuple[float, float]:
        """Sheet width and height in PostScript points (1/72 inch)."""
        w, h = self.size_mm
        return (w / 25.4 * 72.0, h / 25.4 * 72.0)


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """One export request: an area, zooms, layers and formats (a bundle of files).

    Attributes
    ----------
    bbox_wgs84 : (west, south, east, north) or None
        Degrees; None exports the whole district.
    zooms : (min_zoom, max_zoom)
        WebMercatorQuad zoom levels of the tile packages, inclusive.
    layers : tuple of str
        Among :data:`LAYERS`.
    formats : tuple of str
        Among :data:`FORMATS`.
    print_options : PrintOptions
        The sheet of the PDF.
    """

    bbox_wgs84: BBox | None = None
    zooms: tuple[int, int] = (14, 19)
    layers: tuple[str, ...] = LAYERS
    formats: tuple[str, ...] = FORMATS
    print_options: PrintOptions = field(default_factory=PrintOptions)

    def __post_init__(self) -> None:
        if self.bbox_wgs84 is not None:
            _check_bbox(self.bbox_wgs84)
        lo, hi = self.zooms
        if not (MIN_ZOOM <= lo <= hi <= MAX_ZOOM):
            raise InvalidParameter(
                f"must be [min, max] with {MIN_ZOOM} <= min <= max <= {MAX_ZOOM}", "zooms"
            )
        _check_names(self.layers, LAYERS, "layers")
        _check_names(self.formats, FORMATS, "formats")

    @property
    def tiled_formats(self) -> tuple[str, ...]:
        """The requested tile-package formats."""
        return tuple(f for f in self.formats if f in ("mbtiles", "pmtiles"))


def _check_bbox(bbox: Sequence[float]) -> None:
    if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
        raise InvalidParameter("must be four finite numbers [west, south, east, north]", "bbox")
    west, south, east, north = bbox
    if not (-180.0 <= west <= 180.0 and -180.0 <= east <= 180.0):
        raise InvalidParameter("longitudes must be within [-180, 180]", "bbox")
    if not (-85.06 <= south <= 85.06 and -85.06 <= north <= 85.06):
        raise InvalidParameter("latitudes must be within [-85.06, 85.06] (Web Mercator)", "bbox")
    if not (west < east and south < north):
        raise InvalidParameter("must be [west, south, east, north] with west < east", "bbox")


def _check_names(names: Sequence[str], known: Sequence[str], field_name: str) -> None:
    if not names:
        raise InvalidParameter(f"give at least one of {', '.join(known)}", field_name)
    for i, name in enumerate(names):
        if name not in known:
            raise InvalidParameter(f"unknown; known: {', '.join(known)}", f"{field_name}.{i}")
    if len(set(names)) != len(names):
        raise InvalidParameter("must not repeat a name", field_name)


@dataclass(frozen=True, slots=True)
class ExportData:
    """Everything an export draws, at one data version.

    Attributes
    ----------
    grid : Grid
        The blight field (intensity and its variance) in ``frame``.
    frame : LocalFrame
        The district's local metric frame (UTM where possible).
    towers : tuple of Tower
    zones : tuple of RemedyZone
    district_wgs84 : shapely geometry
        The area accepted as the district (towers' hull plus margin), lon/lat.
    data_version : int
    reference_time : datetime
        The time the field describes (its newest observation), timezone-aware.
    method : str
        The interpolation method (``"kriging"`` or ``"idw"``).
    tier_values : mapping of (tower_id, level) to (intensity, std_error)
        The field at each tower tier (vector tiles carry the towers' maxima).
    attribution : str
        Who made the data, printed and written into the packages' metadata.
    basemap : Basemap or None
        Buildings and streets printed under the field (:mod:`geo.basemap`), if any.
    """

    grid: Grid
    frame: LocalFrame
    towers: tuple[Tower, ...]
    zones: tuple[RemedyZone, ...]
    district_wgs84: BaseGeometry
    data_version: int
    reference_time: datetime
    method: str
    tier_values: Mapping[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    attribution: str = "blightmap: towers, observations and interpolated blight field"
    basemap: Basemap | None = None

    def district_bbox_wgs84(self) -> BBox:
        """What "the whole district" exports: the field's grid (towers plus its pad), lon/lat.

        The district itself reaches ``margin_m`` (1 km) beyond the towers, where there
        is nothing to draw; the grid covers every tower with a small pad.
        """
        minx, miny, maxx, maxy = self.grid.spec.bounds_m
        polygon = self.frame.geometry_to_wgs84(box(minx, miny, maxx, maxy).segmentize(10.0))
        west, south, east, north = polygon.bounds
        return (float(west), float(south), float(east), float(north))

    def area_bbox_wgs84(self, spec: ExportSpec) -> BBox:
        """The requested bbox cut to the field's grid (the whole grid when none).

        Raises
        ------
        OutsideDistrict
            If the bbox misses the grid (it may still touch the district's margin, where
            there is nothing to export).
        """
        whole = self.district_bbox_wgs84()
        if spec.bbox_wgs84 is None:
            return whole
        clipped = box(*spec.bbox_wgs84).intersection(box(*whole))
        if clipped.is_empty or clipped.area == 0.0:
            raise OutsideDistrict(
                "does not overlap the towers' area (the field's grid); omit it to export "
                "the whole district",
                "bbox",
            )
        west, south, east, north = clipped.bounds
        return (float(west), float(south), float(east), float(north))


def tile_count(bbox_wgs84: BBox, zooms: tuple[int, int]) -> int:
    """WebMercatorQuad tiles covering ``bbox_wgs84`` over the zoom range (inclusive)."""
    total = 0
    for z in range(zooms[0], zooms[1] + 1):
        ul = _WEB_MERCATOR.tile(bbox_wgs84[0], bbox_wgs84[3], z)
        lr = _WEB_MERCATOR.tile(bbox_wgs84[2], bbox_wgs84[1], z)
        total += (lr.x - ul.x + 1) * (lr.y - ul.y + 1)
    return total


def tiled_layer_count(spec: ExportSpec) -> int:
    """How many tile sets an export renders: one per raster layer, one for the vectors."""
    if not spec.tiled_formats:
        return 0
    rasters = sum(layer in RASTER_LAYERS for layer in spec.layers)
    return rasters + any(layer in VECTOR_LAYERS for layer in spec.layers)


def check_spec(spec: ExportSpec, data: ExportData, max_tiles: int = MAX_TILES) -> BBox:
    """Check a request against the data; return the area to export (lon/lat bbox).

    Raises
    ------
    OutsideDistrict
        If the bbox does not overlap the district (``field="bbox"``).
    InvalidParameter
        If the tile packages would need more than ``max_tiles`` tiles (``field="zooms"``).
    """
    if spec.bbox_wgs84 is not None and not box(*spec.bbox_wgs84).intersects(data.district_wgs84):
        raise OutsideDistrict("does not overlap the district; omit it to export it all", "bbox")
    area = data.area_bbox_wgs84(spec)
    tiles = tile_count(area, spec.zooms) * tiled_layer_count(spec)
    if tiles > max_tiles:
        raise InvalidParameter(
            f"the tile packages would hold {tiles} tiles, more than the limit of {max_tiles}; "
            "lower the maximum zoom or export a smaller bbox",
            "zooms",
        )
    return area
