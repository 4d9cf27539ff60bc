"""The optional offline basemap in the data directory: imported once from a user's file
(:func:`geo.basemap.read_basemap`), kept as ``basemap.geojson`` (lon/lat), served to
the web map at ``/basemap.geojson`` and drawn under the field in print exports."""

from __future__ import annotations

import json
import os
from pathlib import Path

from geo.basemap import Basemap, read_basemap

__all__ = ["BASEMAP_FILE", "basemap_path", "import_basemap", "load_basemap"]

BASEMAP_FILE = "basemap.geojson"


def basemap_path(data_dir: Path) -> Path:
    """Where the data directory keeps its basemap."""
    return data_dir / BASEMAP_FILE


def import_basemap(data_dir: Path, source: Path, crs: str | None = None) -> Basemap:
    """Read ``source`` (any CRS) and replace the data directory's basemap with it.

    The file is written beside its final name and renamed, so a running service never
    reads half a basemap. Raises what :func:`geo.basemap.read_basemap` raises.
    """
    basemap = read_basemap(source, crs)
    target = basemap_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".geojson.partial")
    partial.write_text(json.dumps(basemap.to_geojson(), separators=(",", ":")))
    os.replace(partial, target)
    return basemap


def load_basemap(data_dir: Path) -> Basemap | None:
    """The data directory's basemap, or ``None`` when none was imported."""
    path = basemap_path(data_dir)
    if not path.is_file():
        return None
    return Basemap.from_geojson(json.loads(path.read_text()))
