"""The ``blightmap`` command: keys, tower import, observation ingest."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pytest

from geo.towers_io import write_towers
from service.app import open_store
from service.auth import resolve_key, resolve_record
from service.cli import main
from service.settings import Settings
from tests.conftest import make_tower
from tests.service.conftest import collection, observation


def test_keys_create_prints_the_key_on_its_last_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "keys",
            "create",
            "--role",
            "planner",
            "--data",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = out.stdout.strip().splitlines()[-1]
    store = open_store(Settings(data_dir=tmp_path))
    try:
        role = resolve_key(store, key)
    finally:
        store.close()
    assert role is not None and role.value == "planner"


def test_keys_create_takes_scopes_for_sensor_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["keys", "create", "--role", "sensor", "--data", str(tmp_path)]
    scoped = [*args, "--source", "drone", "--source", "sensor", "--tower", "T001"]
    assert main(scoped) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    store = open_store(Settings(data_dir=tmp_path))
    try:
        record = resolve_record(store, key)
    finally:
        store.close()
    assert record is not None
    assert (record.sources, record.tower_ids) == (("drone", "sensor"), ("T001",))
    planner = ["keys", "create", "--role", "planner", "--tower", "T001", "--data", str(tmp_path)]
    assert main(planner) == 2


def test_import_towers_from_projected_geojson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    towers = [make_tower(i) for i in range(6)]
    src = tmp_path / "towers_wgs84.geojson"
    write_towers(towers, src)
    projected = tmp_path / "towers_rd.geojson"
    gpd.read_file(src).to_crs("EPSG:28992").to_file(projected, driver="GeoJSON")
    assert main(["import", "towers", str(projected), "--data", str(tmp_path / "d")]) == 0
    assert "6 new" in capsys.readouterr().out
    store = open_store(Settings(data_dir=tmp_path / "d"))
    try:
        got = store.get_tower("T003")
    finally:
        store.close()
    assert got is not None
    assert got.centroid_lonlat == pytest.approx(towers[3].centroid_lonlat, abs=1e-7)


def test_import_towers_refuses_a_base_height_far_from_the_geoid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13, finding 7: heights from -500 to 9,000 m were accepted anywhere."""
    towers = [make_tower(0), replace(make_tower(1), base_height_m=4000.0)]
    src = tmp_path / "towers.geojson"
    write_towers(towers, src)
    assert main(["import", "towers", str(src), "--data", str(tmp_path / "d")]) != 0
    err = capsys.readouterr().err
    assert "rows.1.base_height_m" in err and "EGM2008" in err
    store = open_store(Settings(data_dir=tmp_path / "d"))
    try:
        assert store.list_towers() == []
    finally:
        store.close()


def test_ingest_file_twice_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    store = open_store(Settings(data_dir=data))
    store.upsert_towers([make_tower(i) for i in range(4)])
    store.close()
    path = tmp_path / "obs.geojson"
    path.write_text(json.dumps(collection([observation(i) for i in range(2_500)])))
    assert main(["ingest", str(path), "--data", str(data)]) == 0
    assert "2500 new" in capsys.readouterr().out
    assert main(["ingest", str(path), "--data", str(data)]) == 0
    assert "0 new, 2500 already known" in capsys.readouterr().out


def test_ingest_refuses_a_bad_batch(tmp_path: Path) -> None:
    data = tmp_path / "d"
    store = open_store(Settings(data_dir=data))
    store.upsert_towers([make_tower(0)])
    store.close()
    path = tmp_path / "obs.geojson"
    path.write_text(json.dumps(collection([observation(1, intensity=3.0)])))
    assert main(["ingest", str(path), "--data", str(data)]) == 1


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_export_towers_round_trips(tmp_path: Path, suffix: str) -> None:
    from geo.towers_io import read_towers

    data = tmp_path / "d"
    store = open_store(Settings(data_dir=data))
    store.upsert_towers([make_tower(i) for i in range(3)])
    store.close()
    out = tmp_path / f"towers{suffix}"
    assert main(["export", "towers", str(out), "--data", str(data)]) == 0
    back = {t.id: t for t in read_towers(out)}
    assert sorted(back) == ["T000", "T001", "T002"]
    assert back["T001"].tiers == make_tower(1).tiers
    assert back["T001"].footprint_wgs84.equals_exact(make_tower(1).footprint_wgs84, 1e-9)


@pytest.fixture
def demo_data(tmp_path: Path) -> Path:
    from datetime import UTC, datetime

    from service.demo import seed_demo

    data = tmp_path / "demo"
    store = open_store(Settings(data_dir=data))
    seed_demo(store, seed=7, end=datetime(2026, 11, 1, 12, tzinfo=UTC))
    store.close()
    return data


def test_field_command_writes_a_cog(demo_data: Path, tmp_path: Path) -> None:
    import rasterio

    out = tmp_path / "blight.tif"
    assert main(["field", "--out", str(out), "--data", str(demo_data)]) == 0
    with rasterio.open(out) as ds:
        assert ds.count == 2 and ds.crs.to_epsg() == 32631
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_zones_command_writes_a_geopackage(demo_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "zones.gpkg"
    assert main(["zones", "--out", str(out), "--data", str(demo_data)]) == 0
    zones = gpd.read_file(out, layer="zones")
    assert len(zones) >= 1 and zones.crs.to_epsg() == 4326
    assert zones.geometry.is_valid.all() and (zones["dose_l_per_m2"] > 0).all()
    assert json.loads(zones["towers"].iloc[0])  # the first-ranked zone holds towers


def test_field_command_with_too_few_observations_fails_cleanly(tmp_path: Path) -> None:
    assert main(["field", "--out", str(tmp_path / "x.tif"), "--data", str(tmp_path)]) == 2


def test_import_refuses_towers_that_stretch_the_district(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    near = [make_tower(i) for i in range(3)]
    far = make_tower(9, lon=5.1214 + 44_000 / 68_600, lat=52.0907)
    src = tmp_path / "towers.geojson"
    write_towers([*near, far], src)
    assert main(["import", "towers", str(src), "--data", str(tmp_path / "d")]) == 1
    assert "stretch the district to 4" in capsys.readouterr().err
    store = open_store(Settings(data_dir=tmp_path / "d"))
    try:
        assert store.list_towers() == []
    finally:
        store.close()
    write_towers(near, src)
    assert main(["import", "towers", str(src), "--data", str(tmp_path / "d")]) == 0
