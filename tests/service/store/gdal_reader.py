"""Read a GeoPackage with GDAL (pyogrio) and print what GDAL sees as JSON.

Run as a child process by the tests, the way QGIS or ``ogrinfo`` meet the live store
file: GDAL must not open the live file inside the process holding the store (see
:mod:`service.store.gpkg_connections`).

Usage: ``python gdal_reader.py PATH '[[minx, miny, maxx, maxy], ...]'``
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pyogrio
from pyogrio.raw import read


def _plain(value: Any) -> Any:
    """numpy scalars to Python values for JSON."""
    return value.item() if hasattr(value, "item") else value


def _layer_info(path: str, layer: str) -> dict[str, Any]:
    info = pyogrio.read_info(path, layer=layer)
    return {
        "crs": info["crs"],
        "features": int(info["features"]),
        "fields": [str(f) for f in info["fields"]],
        "ogr_types": list(info["ogr_types"]),
        "ogr_subtypes": list(info["ogr_subtypes"]),
        "geometry_type": info["geometry_type"],
        "geometry_name": info["geometry_name"],
        "fid_column": info["fid_column"],
        "fast_spatial_filter": bool(info["capabilities"]["fast_spatial_filter"]),
        "total_bounds": None
        if info["total_bounds"] is None
        else [float(v) for v in info["total_bounds"]],
    }


def _rows(path: str, layer: str) -> list[dict[str, Any]]:
    meta, _, geometries, columns = read(path, layer=layer, datetime_as_string=True)
    return [
        {
            "geom": geometries[i].hex(),
            **{
                str(name): _plain(column[i])
                for name, column in zip(meta["fields"], columns, strict=True)
            },
        }
        for i in range(len(geometries))
    ]


def main(path: str, bboxes: list[list[float]]) -> dict[str, Any]:
    """Everything the tests compare, read through GDAL."""
    layers = {
        str(name): None if kind is None else str(kind) for name, kind in pyogrio.list_layers(path)
    }
    return {
        "layers": layers,
        "info": {layer: _layer_info(path, layer) for layer in ("towers", "observations")},
        "rows": {layer: _rows(path, layer) for layer in ("towers", "observations")},
        "bbox": [
            sorted(
                read(path, layer="observations", bbox=tuple(b), columns=["obs_id"])[3][0].tolist()
            )
            for b in bboxes
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))))
