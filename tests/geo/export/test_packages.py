"""MBTiles and PMTiles packages, read back by GDAL (rasterio/pyogrio), SQLite and the
``pmtiles`` reader; the colour over a tower in the PNG tiles is the field through the
layer's colormap."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import mapbox_vector_tile
import morecantile
import numpy as np
import pyogrio
import pytest
import rasterio
from PIL import Image
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType
from pyproj import Transformer
from rasterio.warp import transform_bounds
from scipy.interpolate import RegularGridInterpolator

from geo.colormap import colormap
from geo.export import ExportData, ExportSpec
from geo.export.bundle import ExportedFile, run_export
from geo.export.packages import MBTILES_APPLICATION_ID
from geo.export.spec import tile_count
from geo.export.tilesets import tiles_covering

ZOOMS = (16, 18)
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def bundle(demo_data: ExportData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packages")
    spec = ExportSpec(zooms=ZOOMS, formats=("mbtiles", "pmtiles"))
    files = run_export(spec, demo_data, out)
    assert [f.name for f in files] == [
        "blight.mbtiles",
        "blight.pmtiles",
        "uncertainty.mbtiles",
        "uncertainty.pmtiles",
        "vector.mbtiles",
        "vector.pmtiles",
    ]
    return out


def _mbtiles(path: Path) -> Iterator[tuple[int, int, int, bytes]]:
    with closing(sqlite3.connect(path)) as db:
        yield from db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")


def _metadata(path: Path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT name, value FROM metadata").fetchall())


def test_tile_count_matches_enumeration(demo_data: ExportData) -> None:
    area = demo_data.district_bbox_wgs84()
    assert tile_count(area, (14, 17)) == len(tiles_covering(area, (14, 17)))


def test_mbtiles_metadata_follows_the_spec(bundle: Path, demo_data: ExportData) -> None:
    raster = _metadata(bundle / "blight.mbtiles")
    required = {
        "name",
        "format",
        "bounds",
        "center",
        "minzoom",
        "maxzoom",
        "attribution",
        "description",
        "type",
        "version",
    }
    assert required <= set(raster)
    assert raster["format"] == "png" and raster["type"] == "overlay"
    assert (raster["minzoom"], raster["maxzoom"]) == ("16", "18")
    assert raster["version"] == "42"
    bounds = [float(v) for v in raster["bounds"].split(",")]
    assert bounds == pytest.approx(list(demo_data.district_bbox_wgs84()), abs=1e-6)
    lon, lat, zoom = raster["center"].split(",")
    assert bounds[0] < float(lon) < bounds[2] and bounds[1] < float(lat) < bounds[3]
    assert 16 <= int(zoom) <= 18
    vector = _metadata(bundle / "vector.mbtiles")
    assert vector["format"] == "pbf"
    layers = {layer["id"]: layer for layer in json.loads(vector["json"])["vector_layers"]}
    assert set(layers) == {"towers", "zones"}
    assert layers["towers"]["fields"]["intensity_max"] == "Number"
    assert layers["zones"]["fields"]["id"] == "String"
    with closing(sqlite3.connect(bundle / "blight.mbtiles")) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == MBTILES_APPLICATION_ID


def test_gdal_opens_the_raster_mbtiles_with_its_bounds(bundle: Path, demo_data: ExportData) -> None:
    west, south, east, north = demo_data.district_bbox_wgs84()
    with rasterio.open(bundle / "blight.mbtiles") as src:
        assert src.driver == "MBTiles"
        assert src.crs.to_epsg() == 3857
        assert src.count == 4  # RGBA
        lon0, lat0, lon1, lat1 = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        # GDAL reports the max-zoom tiles' extent clipped to the stated bounds
        tile_deg = 360.0 / 2 ** ZOOMS[1]
        assert lon0 == pytest.approx(west, abs=tile_deg) and lon1 == pytest.approx(
            east, abs=tile_deg
        )
        assert lat0 == pytest.approx(south, abs=tile_deg) and lat1 == pytest.approx(
            north, abs=tile_deg
        )
        assert src.res[0] == pytest.approx(2 * np.pi * 6378137 / 256 / 2 ** ZOOMS[1], rel=1e-6)


def test_gdal_reads_the_vector_mbtiles(bundle: Path, demo_data: ExportData) -> None:
    layers = {name for name, _ in pyogrio.list_layers(bundle / "vector.mbtiles")}
    assert layers == {"towers", "zones"}
    towers = pyogrio.read_dataframe(bundle / "vector.mbtiles", layer="towers")
    assert set(towers["id"]) == {t.id for t in demo_data.towers}
    zones = pyogrio.read_dataframe(bundle / "vector.mbtiles", layer="zones")
    assert set(zones["id"]) == {z.id for z in demo_data.zones}


def test_rows_are_in_tms_order(bundle: Path, demo_data: ExportData) -> None:
    tower = demo_data.towers[0]
    z = ZOOMS[1]
    tile = WEB_MERCATOR.tile(*tower.centroid_lonlat, z)
    with closing(sqlite3.connect(bundle / "vector.mbtiles")) as db:
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, tile.x, (1 << z) - 1 - tile.y),
        ).fetchone()
    decoded = mapbox_vector_tile.decode(gzip.decompress(row[0]))
    ids = {f["properties"]["id"] for f in decoded["towers"]["features"]}
    assert tower.id in ids


@pytest.mark.parametrize("name", ["blight", "uncertainty", "vector"])
def test_pmtiles_reads_back_every_tile(bundle: Path, name: str, demo_data: ExportData) -> None:
    expected = {
        (z, x, (1 << z) - 1 - row): blob for z, x, row, blob in _mbtiles(bundle / f"{name}.mbtiles")
    }
    with (bundle / f"{name}.pmtiles").open("rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        header = reader.header()
        got = dict(all_tiles(source))
        meta = reader.metadata()
        one = next(iter(expected))
        assert reader.get(*one) == expected[one]
    assert got == expected
    assert (header["min_zoom"], header["max_zoom"]) == ZOOMS
    assert header["addressed_tiles_count"] == len(expected)
    bounds = [round(v * 1e7) for v in demo_data.district_bbox_wgs84()]
    keys = ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")
    assert [header[k] for k in keys] == bounds
    if name == "vector":
        assert header["tile_type"] == TileType.MVT
        assert header["tile_compression"] == Compression.GZIP
        assert {layer["id"] for layer in meta["vector_layers"]} == {"towers", "zones"}
    else:
        assert header["tile_type"] == TileType.PNG
        assert meta["format"] == "png" and meta["version"] == "42"


def _field_at(data: ExportData, values: np.ndarray, x: float, y: float) -> float:
    """Bilinear value between cell centres (what a smooth tile shows between them)."""
    xs, ys = data.grid.spec.cell_centres()
    interp = RegularGridInterpolator((ys[::-1], xs), values[::-1], method="linear")
    return float(interp([[y, x]])[0])


@pytest.mark.parametrize(
    ("layer", "cmap"), [("blight", "intensity"), ("uncertainty", "uncertainty")]
)
def test_pixel_over_a_tower_is_the_field_through_the_colormap(
    bundle: Path, demo_data: ExportData, layer: str, cmap: str
) -> None:
    tiles = {
        (z, x, (1 << z) - 1 - row): blob
        for z, x, row, blob in _mbtiles(bundle / f"{layer}.mbtiles")
    }
    to_local = Transformer.from_crs("EPSG:3857", demo_data.frame.crs, always_xy=True)
    lut = colormap(cmap)
    grid = demo_data.grid
    values = grid.values if layer == "blight" else grid.std_error
    z = ZOOMS[1]
    checked = 0
    for tower in demo_data.towers[::4]:
        tile = WEB_MERCATOR.tile(*tower.centroid_lonlat, z)
        image = np.asarray(Image.open(io.BytesIO(tiles[(z, tile.x, tile.y)])).convert("RGBA"))
        left, bottom, right, top = WEB_MERCATOR.xy_bounds(tile)
        mx, my = WEB_MERCATOR.xy(*tower.centroid_lonlat)
        col = int((mx - left) / (right - left) * 256)
        row = int((top - my) / (top - bottom) * 256)
        cx = left + (col + 0.5) * (right - left) / 256
        cy = top - (row + 0.5) * (top - bottom) / 256
        value = _field_at(demo_data, values, *to_local.transform(cx, cy))
        pixel = image[row, col]
        # the LUT entries of values within 1% of the range of the expected one
        span = 0.01 * (lut.vmax - lut.vmin)
        near = lut.rgba(np.linspace(value - span, value + span, 9))
        assert pixel[3] == 255
        assert any((pixel == entry).all() for entry in near), (tower.id, pixel, value)
        checked += 1
    assert checked >= 10


def test_progress_climbs_and_cancel_stops(demo_data: ExportData, tmp_path: Path) -> None:
    seen: list[int] = []
    spec = ExportSpec(zooms=(15, 17), formats=("mbtiles", "cog", "gpkg"))
    files = run_export(spec, demo_data, tmp_path / "a", seen.append)
    assert seen == sorted(seen) and seen[0] == 0 and seen[-1] >= 90
    assert all(isinstance(f, ExportedFile) and f.bytes > 0 for f in files)
    assert {f.format for f in files} == {"mbtiles", "cog", "gpkg"}

    class Stop(Exception):
        pass

    def stop_at_10(percent: int) -> None:
        if percent >= 10:
            raise Stop

    with pytest.raises(Stop):
        run_export(spec, demo_data, tmp_path / "b", stop_at_10)
    assert not (tmp_path / "b" / "field.tif").exists()
