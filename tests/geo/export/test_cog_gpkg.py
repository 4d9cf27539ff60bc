"""The COG and the GeoPackage, opened the way an outsider would: GDAL through rasterio/pyogrio."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from geo.export import ExportData
from geo.export.cog import write_cog
from geo.export.gpkg import write_gpkg


def _tower_xy(data: ExportData, k: int) -> tuple[float, float]:
    return data.frame.to_local(*data.towers[k].centroid_lonlat)


def test_cog_validates_and_is_georeferenced(demo_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "field.tif"
    size = write_cog(demo_data, demo_data.district_bbox_wgs84(), path)
    assert size == path.stat().st_size
    valid, errors, _ = cog_validate(path, strict=True, quiet=True)
    assert valid, errors
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == demo_data.frame.epsg == 32631
        assert src.count == 2
        assert src.descriptions == ("intensity", "std_error")
        assert src.tags()["data_version"] == "42"
        for k in (0, 17, 33):
            x, y = _tower_xy(demo_data, k)
            intensity, se = next(src.sample([(x, y)]))
            expected_v, expected_se = demo_data.grid.sample(np.array([x]), np.array([y]))
            assert intensity == pytest.approx(expected_v[0], abs=1e-6)
            assert se == pytest.approx(expected_se[0], abs=1e-6)


def test_cog_of_a_bbox_is_cut_to_it(demo_data: ExportData, tmp_path: Path) -> None:
    west, south, east, north = demo_data.district_bbox_wgs84()
    dx, dy = (east - west) / 4, (north - south) / 4
    bbox = (west + dx, south + dy, east - dx, north - dy)
    write_cog(demo_data, bbox, tmp_path / "part.tif")
    full = demo_data.grid.spec
    with rasterio.open(tmp_path / "part.tif") as src:
        assert src.width < full.width * 0.6 and src.height < full.height * 0.6
        for lon, lat in ((bbox[0], bbox[1]), (bbox[2], bbox[3]), (bbox[0], bbox[3])):
            x, y = demo_data.frame.to_local(lon, lat)
            assert src.bounds.left <= x <= src.bounds.right
            assert src.bounds.bottom <= y <= src.bounds.top
        # aligned with the full grid: the corner is a whole number of cells away
        assert (src.bounds.left - full.west_m) % full.resolution_m == 0


def test_gpkg_holds_vectors_and_field(demo_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "out.gpkg"
    write_gpkg(
        demo_data,
        demo_data.district_bbox_wgs84(),
        ("blight", "uncertainty", "towers", "zones"),
        path,
    )
    layers = dict(pyogrio.list_layers(path).tolist())
    assert layers == {"towers": "Polygon", "zones": "Polygon"}
    towers = pyogrio.read_dataframe(path, layer="towers")
    assert sorted(towers["id"]) == sorted(t.id for t in demo_data.towers)
    assert towers.crs.to_epsg() == 4326
    zones = pyogrio.read_dataframe(path, layer="zones")
    assert len(zones) == len(demo_data.zones) > 0
    assert set(zones["id"]) == {z.id for z in demo_data.zones}
    with warnings.catch_warnings():  # the container itself has no single geotransform
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path) as container:
            subdatasets = container.subdatasets
    assert subdatasets == [f"GPKG:{path}:blight", f"GPKG:{path}:uncertainty"]
    spec = demo_data.grid.spec
    for name, expected in (
        ("blight", demo_data.grid.values),
        ("uncertainty", demo_data.grid.std_error),
    ):
        with rasterio.open(f"GPKG:{path}:{name}") as src:
            assert src.crs.to_epsg() == 32631
            assert src.transform.almost_equals(spec.transform)
            assert (src.height, src.width) == spec.shape
            np.testing.assert_allclose(src.read(1), expected.astype(np.float32), equal_nan=True)


def test_gpkg_with_only_the_field(demo_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "field.gpkg"
    write_gpkg(demo_data, demo_data.district_bbox_wgs84(), ("uncertainty",), path)
    with rasterio.open(path) as src:  # one raster table: GDAL opens it directly
        assert src.crs.to_epsg() == 32631
        assert src.read(1).shape == demo_data.grid.spec.shape
