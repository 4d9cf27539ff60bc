"""Tile packages: MBTiles 1.3 (SQLite) and PMTiles v3 (the ``pmtiles`` package's writer)."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from geo.export.spec import BBox, ExportData
from geo.export.tilesets import RenderedTile, TileSet, vector_layer_fields

__all__ = ["MBTILES_APPLICATION_ID", "package_metadata", "write_mbtiles", "write_pmtiles"]

MBTILES_APPLICATION_ID = 0x4D504258
"""``PRAGMA application_id`` of an MBTiles 1.3 file ("MPBX")."""


def _center(area_wgs84: BBox, zooms: tuple[int, int]) -> tuple[float, float, int]:
    lon = (area_wgs84[0] + area_wgs84[2]) / 2.0
    lat = (area_wgs84[1] + area_wgs84[3]) / 2.0
    return lon, lat, min(zooms[1], max(zooms[0], math.ceil((zooms[0] + zooms[1]) / 2)))


def package_metadata(
    tile_set: TileSet, data: ExportData, area_wgs84: BBox, zooms: tuple[int, int]
) -> dict[str, Any]:
    """The MBTiles 1.3 metadata of a tile set (also the PMTiles JSON metadata).

    Required and recommended keys: ``name``, ``format``, ``bounds``, ``center``,
    ``minzoom``, ``maxzoom``, ``attribution``, ``description``, ``type``, ``version``,
    and for vector tiles ``json`` with ``vector_layers``.
    """
    lon, lat, zoom = _center(area_wgs84, zooms)
    meta: dict[str, Any] = {
        "name": f"blightmap {tile_set.name}",
        "format": tile_set.tile_format,
        "bounds": ",".join(f"{v:.7f}" for v in area_wgs84),
        "center": f"{lon:.7f},{lat:.7f},{zoom}",
        "minzoom": str(zooms[0]),
        "maxzoom": str(zooms[1]),
        "attribution": data.attribution,
        "description": (
            f"{tile_set.description}. Data version {data.data_version}, data time "
            f"{data.reference_time.isoformat()}, interpolation {data.method}."
        ),
        "type": "overlay",
        "version": str(data.data_version),
    }
    if tile_set.tile_format == "pbf":
        fields = vector_layer_fields(data, tile_set.layers)
        layers = [
            {"id": name, "fields": fields[name], "minzoom": zooms[0], "maxzoom": zooms[1]}
            for name in tile_set.layers
        ]
        meta["json"] = json.dumps({"vector_layers": layers}, separators=(",", ":"))
    return meta


def write_mbtiles(path: Path, metadata: Mapping[str, str], tiles: Sequence[RenderedTile]) -> int:
    """Write an MBTiles 1.3 file (replacing ``path``); return its size in bytes.

    ``tiles`` are in the XYZ scheme; rows are stored in TMS order
    (``tile_row = 2**z - 1 - y``), as the specification requires.
    """
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA application_id = {MBTILES_APPLICATION_ID}")
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
            "tile_data blob)"
        )
        db.execute("CREATE UNIQUE INDEX name ON metadata (name)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", sorted(metadata.items()))
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            ((z, x, (1 << z) - 1 - y, sqlite3.Binary(blob)) for z, x, y, blob in tiles),
        )
        db.commit()
    return path.stat().st_size


def write_pmtiles(
    path: Path,
    tile_set: TileSet,
    metadata: Mapping[str, Any],
    area_wgs84: BBox,
    zooms: tuple[int, int],
    tiles: Sequence[RenderedTile],
) -> int:
    """Write a PMTiles v3 archive (replacing ``path``); return its size in bytes.

    Tiles are written in tile-id order (a clustered archive); vector tiles are gzip
    compressed, PNG tiles stored as they are. Requires at least one tile.
    """
    ordered = sorted(tiles, key=lambda t: zxy_to_tileid(t[0], t[1], t[2]))
    lon, lat, zoom = _center(area_wgs84, zooms)
    vector = tile_set.tile_format == "pbf"
    header = {
        "tile_type": TileType.MVT if vector else TileType.PNG,
        "tile_compression": Compression.GZIP if vector else Compression.NONE,
        "min_lon_e7": round(area_wgs84[0] * 1e7),
        "min_lat_e7": round(area_wgs84[1] * 1e7),
        "max_lon_e7": round(area_wgs84[2] * 1e7),
        "max_lat_e7": round(area_wgs84[3] * 1e7),
        "center_zoom": zoom,
        "center_lon_e7": round(lon * 1e7),
        "center_lat_e7": round(lat * 1e7),
    }
    meta = dict(metadata)
    if "json" in meta:  # PMTiles keeps vector_layers at the top level of its metadata
        meta.update(json.loads(meta.pop("json")))
    with path.open("wb") as f:
        writer = Writer(f)
        for z, x, y, blob in ordered:
            writer.write_tile(zxy_to_tileid(z, x, y), blob)
        writer.finalize(header, meta)
    return path.stat().st_size
