"""CRS negotiation for OGC API - Features Part 2 (``crs`` and ``bbox-crs``).

Each collection offers CRS84 (the default), EPSG:4326 (latitude first, as that CRS
defines its axes) and, once the district has one, its UTM zone. Axis order always
follows the CRS definition; pyproj does the work.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from service.ogc import CRS84, bad_param

__all__ = ["EPSG_URI", "crs_uri", "offered_crs", "to_crs84_bbox", "transform_geometry"]

EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"


def crs_uri(epsg: int) -> str:
    """OGC URI of an EPSG code."""
    return EPSG_URI.format(code=epsg)


def offered_crs(district_epsg: int | None) -> list[str]:
    """The CRS URIs a collection offers, CRS84 first."""
    out = [CRS84, crs_uri(4326)]
    if district_epsg is not None:
        out.append(crs_uri(district_epsg))
    return out


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(_pyproj_crs(src), _pyproj_crs(dst))


def _pyproj_crs(uri: str) -> CRS:
    if uri == CRS84:
        return CRS.from_user_input("OGC:CRS84")
    return CRS.from_epsg(int(uri.rsplit("/", 1)[1]))


def check_offered(uri: str, offered: list[str], param: str) -> str:
    """``uri`` if offered, else a 400 naming ``param``."""
    if uri not in offered:
        raise bad_param(param, "unsupported CRS; offered: " + ", ".join(offered))
    return uri


def transform_geometry(geom: BaseGeometry, dst_uri: str) -> BaseGeometry:
    """A CRS84 geometry in the CRS ``dst_uri`` (axis order of that CRS)."""
    if dst_uri == CRS84:
        return geom
    tr = _transformer(CRS84, dst_uri)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


def to_crs84_bbox(
    bbox: tuple[float, float, float, float], src_uri: str
) -> tuple[float, float, float, float]:
    """A bbox given in ``src_uri`` as CRS84 bounds (densified edges)."""
    if src_uri == CRS84:
        return bbox
    tr = _transformer(src_uri, CRS84)
    minx, miny, maxx, maxy = tr.transform_bounds(*bbox, densify_pts=21)
    return (minx, miny, maxx, maxy)
