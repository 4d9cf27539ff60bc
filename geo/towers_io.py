"""Import and export of towers: GeoJSON, GeoPackage, zipped Shapefile and CSV.

Files are read with pyogrio (CSV with pandas) into a GeoDataFrame, reprojected to
EPSG:4326 lon/lat with geopandas, then turned into :class:`~geo.layer.Tower` s row by
row. Every error names the row it is about, 0-based in file order (the CSV header is
not a row): ``field="rows.12.height_m"``.

Columns
-------
``id`` (or ``tower_id``)
    Required.
``name``, ``district``
    Text, default ``""``.
``height_m``
    Required; height of the tower above its base, in metres.
``base_height_m``
    Required; height of the ground at the tower's base above the WGS84 ellipsoid, in
    metres (sea level plus the geoid height: about 46 m in Utrecht). There is no
    default: a silent 0 would put a tower tens of metres underground in AR.
``tiers``
    A JSON list (or JSON text) of ``{"level", "height_m", "crop"}`` objects. Without
    it, ``tier_count`` and/or ``tier_spacing_m`` give evenly spaced tiers from the
    base; without those, one tier at 0 m.
``base_heigh``, ``tier_spaci``
    Shapefile's 10-character cuts of ``base_height_m`` and ``tier_spacing_m``.
anything else
    Kept in :attr:`Tower.extra` when the value is a JSON scalar (text, number,
    boolean; dates become ISO 8601 text). Empty values and other types are dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.geometry.base import BaseGeometry

from geo.crs import WGS84, parse_crs
from geo.errors import GeoError, InvalidCRS, InvalidGeometry, InvalidTower, UnreadableFile
from geo.layer import Tier, Tower

__all__ = [
    "MAX_TIERS",
    "Progress",
    "read_towers",
    "towers_from_geodataframe",
    "towers_to_geodataframe",
    "write_towers",
]

MAX_TIERS = 1000
"""Most tiers a tower may have when they are generated from ``tier_count``."""

Progress = Callable[[int, int], None]
"""Called with ``(rows_done, rows_total)`` while rows are converted."""

_OGR_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip"}
_WRITE_DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
_COORDINATE_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("x", "y"))
_RESERVED = frozenset(
    {
        "id",
        "tower_id",
        "name",
        "district",
        "base_height_m",
        "height_m",
        "tiers",
        "tier_count",
        "tier_spacing_m",
    }
)
# Shapefile (dBase) field names are cut to 10 characters.
_TRUNCATED_NAMES = {"base_heigh": "base_height_m", "tier_spaci": "tier_spacing_m"}
_PROGRESS_EVERY = 500


def read_towers(
    path: str | Path,
    *,
    crs: str | None = None,
    lon_column: str = "lon",
    lat_column: str = "lat",
    layer: str | None = None,
    progress: Progress | None = None,
) -> list[Tower]:
    """Read towers from a GeoJSON, GeoPackage, zipped Shapefile or CSV file.

    The format follows the suffix: ``.geojson``/``.json``, ``.gpkg``, ``.zip`` (a
    zipped Shapefile) or ``.csv``. Geometries in any CRS pyproj knows are reprojected
    to EPSG:4326 lon/lat.

    Parameters
    ----------
    path : str or Path
    crs : str, optional
        CRS of a CSV's coordinates, or of a file that declares none; EPSG:4326 when
        omitted. A file that declares its own CRS keeps it.
    lon_column, lat_column : str
        CSV coordinate columns; ``longitude``/``latitude`` and ``x``/``y`` are also
        recognized (any case) when these are absent.
    layer : str, optional
        Layer of a GeoPackage or zip; the first one when omitted.
    progress : callable, optional
        Called with ``(rows_done, rows_total)``.

    Returns
    -------
    list of Tower
        In file order.

    Raises
    ------
    UnreadableFile
        If the file is missing, of an unsupported type, or not readable as its type.
    InvalidCRS
        If ``crs`` is unknown, or differs from the CRS the file declares.
    InvalidGeometry, InvalidTower
        For the first bad row, e.g. ``field="rows.12.height_m"``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _OGR_SUFFIXES and suffix != ".csv":
        raise UnreadableFile(
            "unsupported file type; use .geojson, .json, .gpkg, .zip (Shapefile) or .csv",
            "file",
        )
    if not path.is_file():
        raise UnreadableFile("does not exist or is not a file", "file")
    if suffix == ".csv":
        frame = _read_csv(path, crs, lon_column, lat_column)
    else:
        frame = _read_ogr(path, layer)
    return towers_from_geodataframe(frame, crs=crs, progress=progress)


def towers_from_geodataframe(
    frame: gpd.GeoDataFrame, *, crs: str | None = None, progress: Progress | None = None
) -> list[Tower]:
    """Convert a GeoDataFrame (one tower per row, columns as in the module doc).

    Parameters
    ----------
    frame : GeoDataFrame
        Reprojected to EPSG:4326 when it has another CRS.
    crs : str, optional
        CRS to assume when ``frame.crs`` is None (default EPSG:4326).
    progress : callable, optional
        Called with ``(rows_done, rows_total)``.

    Raises
    ------
    InvalidCRS, InvalidGeometry, InvalidTower
        As :func:`read_towers`.
    """
    frame = _to_wgs84(frame, crs)
    renames = {
        short: full
        for short, full in _TRUNCATED_NAMES.items()
        if short in frame.columns and full not in frame.columns
    }
    frame = frame.rename(columns=renames)
    geometry_name = frame.geometry.name
    records = frame.drop(columns=[geometry_name]).to_dict("records")
    geometries = np.asarray(frame.geometry.array, dtype=object)
    total = len(records)
    towers: list[Tower] = []
    first_row_of: dict[str, int] = {}
    for i, (record, geometry) in enumerate(zip(records, geometries, strict=True)):
        tower = _tower_from_row(i, record, geometry)
        if tower.id in first_row_of:
            raise InvalidTower(
                f"duplicate id, first used in row {first_row_of[tower.id]}", f"rows.{i}.id"
            )
        first_row_of[tower.id] = i
        towers.append(tower)
        if progress is not None and ((i + 1) % _PROGRESS_EVERY == 0 or i + 1 == total):
            progress(i + 1, total)
    return towers


def towers_to_geodataframe(towers: Sequence[Tower]) -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4326 with one row per tower.

    Columns: ``id``, ``name``, ``district``, ``base_height_m``, ``height_m``,
    ``tiers`` (JSON text), then the ``extra`` keys in first-seen order, as nullable
    pandas dtypes (``Int64``, ``boolean``, ``Float64``, ``string``) so that towers
    lacking a key do not turn integers into floats; mixed-type keys become text.
    """
    extra_keys: dict[str, None] = {}
    for tower in towers:
        extra_keys.update(dict.fromkeys(k for k in tower.extra if k not in _RESERVED))
    columns: dict[str, Any] = {
        "id": [t.id for t in towers],
        "name": [t.name for t in towers],
        "district": [t.district for t in towers],
        "base_height_m": np.array([t.base_height_m for t in towers], dtype=float),
        "height_m": np.array([t.height_m for t in towers], dtype=float),
        "tiers": [json.dumps([tier.to_dict() for tier in t.tiers]) for t in towers],
    }
    for key in extra_keys:
        columns[key] = _extra_column([t.extra.get(key) for t in towers])
    return gpd.GeoDataFrame(
        pd.DataFrame(columns, index=pd.RangeIndex(len(towers))),
        geometry=[tower.footprint_wgs84 for tower in towers],
        crs=WGS84,
    )


def _extra_column(values: list[Any]) -> Any:
    column = pd.array(values)
    if column.dtype == object:
        column = pd.array([None if v is None else str(v) for v in values], dtype="string")
    return column


def write_towers(towers: Sequence[Tower], path: str | Path, driver: str | None = None) -> None:
    """Write towers to a GeoJSON or GeoPackage file, replacing any existing file.

    GeoJSON follows RFC 7946 (EPSG:4326, 7 decimal places, counter-clockwise outer
    rings), with the tower id as the Feature ``id`` and ``tiers`` as a JSON array.
    A GeoPackage gets one layer, ``towers``, with ``tiers`` as JSON text.

    Parameters
    ----------
    driver : {"GeoJSON", "GPKG"}, optional
        Chosen from the suffix (``.geojson``, ``.json``, ``.gpkg``) when omitted.

    Raises
    ------
    ValueError
        If the driver is not supported or cannot be inferred from the suffix.
    """
    path = Path(path)
    driver = driver or _WRITE_DRIVERS.get(path.suffix.lower())
    if driver not in ("GeoJSON", "GPKG"):
        raise ValueError("towers can be written as GeoJSON (.geojson) or GPKG (.gpkg)")
    frame = towers_to_geodataframe(towers)
    path.unlink(missing_ok=True)
    if driver == "GeoJSON":
        pyogrio.write_dataframe(
            frame, path, driver="GeoJSON", layer_options={"RFC7946": "YES", "ID_FIELD": "id"}
        )
    else:
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer="towers")


def _read_ogr(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        if layer is None:
            layer = str(pyogrio.list_layers(path)[0][0])
        frame: gpd.GeoDataFrame = pyogrio.read_dataframe(path, layer=layer)
        info = pyogrio.read_info(path, layer=layer)
    except (DataSourceError, DataLayerError, OSError, ValueError, IndexError) as exc:
        kind = path.suffix.lower().lstrip(".")
        raise UnreadableFile(f"could not be read as a {kind} file or layer", "file") from exc
    # Integer and boolean fields with empty values come back as floats: restore them.
    for name, dtype in zip(info["fields"], info["dtypes"], strict=True):
        if name in frame.columns and frame[name].dtype.kind == "f":
            if str(dtype).startswith("int"):
                frame[name] = frame[name].astype("Int64")
            elif str(dtype) == "bool":
                frame[name] = frame[name].astype("boolean")
    return frame


def _read_csv(path: Path, crs: str | None, lon_column: str, lat_column: str) -> gpd.GeoDataFrame:
    target_crs = parse_crs(crs) if crs is not None else WGS84
    text_columns = dict.fromkeys(("id", "tower_id", "name", "district", "tiers"), str)
    try:
        data = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise UnreadableFile("could not be read as CSV", "file") from exc
    lon_name, lat_name = _coordinate_columns(list(data.columns), lon_column, lat_column)
    lons = _numeric_column(data, lon_name)
    lats = _numeric_column(data, lat_name)
    return gpd.GeoDataFrame(
        data.drop(columns=[lon_name, lat_name]),
        geometry=gpd.points_from_xy(lons, lats),
        crs=target_crs,
    )


def _coordinate_columns(
    columns: Sequence[Hashable], lon_column: str, lat_column: str
) -> tuple[str, str]:
    if lon_column in columns and lat_column in columns:
        return lon_column, lat_column
    by_lower = {str(c).lower(): str(c) for c in columns}
    for lon_name, lat_name in ((lon_column.lower(), lat_column.lower()), *_COORDINATE_COLUMNS):
        if lon_name in by_lower and lat_name in by_lower:
            return by_lower[lon_name], by_lower[lat_name]
    raise UnreadableFile(
        f"needs coordinate columns {lon_column}/{lat_column}, longitude/latitude or x/y",
        "file",
    )


def _numeric_column(data: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InvalidGeometry("must be a finite number", f"rows.{int(bad[0])}.{column}")
    return values


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None) -> gpd.GeoDataFrame:
    given = parse_crs(crs) if crs is not None else None
    if frame.crs is None:
        frame = frame.set_crs(given or WGS84)
    elif given is not None and not parse_crs(frame.crs).equals(given, ignore_axis_order=True):
        raise InvalidCRS("differs from the CRS the file declares; leave it out", "crs")
    if not parse_crs(frame.crs).equals(WGS84, ignore_axis_order=True):
        frame = frame.to_crs(WGS84)
    return frame


def _tower_from_row(i: int, record: Mapping[Hashable, Any], geometry: Any) -> Tower:
    where = f"rows.{i}"
    footprint = _footprint(geometry, f"{where}.geometry")
    height_m = _number(record, "height_m", where)
    try:
        return Tower(
            id=_tower_id(record, where),
            footprint_wgs84=footprint,
            base_height_m=_number(record, "base_height_m", where, required=_BASE_HEIGHT_REQUIRED),
            height_m=height_m,
            tiers=_tiers(record, height_m, where),
            name=_text(record.get("name")),
            district=_text(record.get("district")),
            extra=_extra(record),
        )
    except GeoError as exc:
        if exc.field is not None and exc.field.startswith(where + "."):
            raise
        raise type(exc)(exc.reason, f"{where}.{exc.field}" if exc.field else where) from None


def _footprint(geometry: Any, field_name: str) -> BaseGeometry:
    if not isinstance(geometry, BaseGeometry) or geometry.is_empty:
        raise InvalidGeometry("is missing or empty", field_name)
    geometry = shapely.force_2d(geometry)
    if geometry.geom_type in ("MultiPoint", "MultiPolygon") and len(geometry.geoms) == 1:
        geometry = geometry.geoms[0]
    return geometry


def _tower_id(record: Mapping[Hashable, Any], where: str) -> str:
    for key in ("id", "tower_id"):
        value = record.get(key)
        if not _missing(value):
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)
    raise InvalidTower("is required (an id or tower_id column)", f"{where}.id")


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


_BASE_HEIGHT_REQUIRED = (
    "is required: the ground height at the tower's base above the WGS84 ellipsoid, in "
    "metres (mean sea level plus the geoid height there, about 46 m in Utrecht)"
)


def _number(
    record: Mapping[Hashable, Any],
    key: str,
    where: str,
    default: float | None = None,
    required: str = "is required",
) -> float:
    value = record.get(key)
    if _missing(value):
        if default is None:
            raise InvalidTower(required, f"{where}.{key}")
        return default
    return _as_float(value, f"{where}.{key}")


def _as_float(value: Any, field_name: str) -> float:
    if isinstance(value, bool):
        raise InvalidTower("must be a number", field_name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidTower("must be a number", field_name) from None
    if not math.isfinite(number):
        raise InvalidTower("must be a finite number", field_name)
    return number


def _as_int(value: Any, field_name: str) -> int:
    number = _as_float(value, field_name)
    if not number.is_integer():
        raise InvalidTower("must be a whole number", field_name)
    return int(number)


def _tiers(record: Mapping[Hashable, Any], height_m: float, where: str) -> tuple[Tier, ...]:
    raw = record.get("tiers")
    if not _missing(raw):
        return _parse_tiers(raw, f"{where}.tiers")
    count, spacing = record.get("tier_count"), record.get("tier_spacing_m")
    if _missing(count) and _missing(spacing):
        return (Tier(0, 0.0),)
    return _even_tiers(count, spacing, height_m, where)


def _parse_tiers(raw: Any, field_name: str) -> tuple[Tier, ...]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidTower("must be a JSON list of tiers", field_name) from None
    if isinstance(raw, np.ndarray):
        raw = raw.tolist()
    if not isinstance(raw, list):
        raise InvalidTower("must be a list of tiers", field_name)
    return tuple(_parse_tier(item, f"{field_name}.{j}") for j, item in enumerate(raw))


def _parse_tier(item: Any, field_name: str) -> Tier:
    if not isinstance(item, dict):
        raise InvalidTower("must be an object with level, height_m and crop", field_name)
    if "level" not in item or "height_m" not in item:
        raise InvalidTower("needs level and height_m", field_name)
    crop = item.get("crop")
    if crop is not None and not isinstance(crop, str):
        raise InvalidTower("must be text", f"{field_name}.crop")
    return Tier(
        level=_as_int(item["level"], f"{field_name}.level"),
        height_m=_as_float(item["height_m"], f"{field_name}.height_m"),
        crop=crop or "",
    )


def _even_tiers(count_raw: Any, spacing_raw: Any, height_m: float, where: str) -> tuple[Tier, ...]:
    count_field, spacing_field = f"{where}.tier_count", f"{where}.tier_spacing_m"
    count = None if _missing(count_raw) else _as_int(count_raw, count_field)
    spacing = None if _missing(spacing_raw) else _as_float(spacing_raw, spacing_field)
    if spacing is not None and spacing <= 0.0:
        raise InvalidTower("must be greater than 0 m", spacing_field)
    if count is None:
        assert spacing is not None
        count = math.floor(height_m / spacing + 1e-9) + 1
    if not 1 <= count <= MAX_TIERS:
        raise InvalidTower(f"must give 1 to {MAX_TIERS} tiers", count_field)
    step = spacing if spacing is not None else height_m / count
    return tuple(Tier(level, level * step) for level in range(count))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _extra(record: Mapping[Hashable, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if str(key) in _RESERVED or _missing(value):
            continue
        scalar = _json_scalar(value)
        if scalar is not None:
            extra[str(key)] = scalar
    return extra


def _json_scalar(value: Any) -> str | int | float | bool | None:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return None
