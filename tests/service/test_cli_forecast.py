"""``blightmap forecast``: the four outputs, a scenario file, and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from PIL import Image
from rio_cogeo.cogeo import cog_validate

from service.app import build_state, open_store
from service.cli import main
from service.demo import seed_demo
from service.fields import compute_field
from service.settings import Settings
from tests.service.forecast_jobs import END


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-forecast") / "data"
    store = open_store(Settings(data_dir=path))
    try:
        seed_demo(store, seed=7, end=END)
    finally:
        store.close()
    return path


@pytest.fixture(autouse=True)
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLIGHTMAP_FORECAST_CALIBRATION_SIMULATIONS", "40")
    monkeypatch.setenv("BLIGHTMAP_FORECAST_SKILL_RUNS", "10")
    monkeypatch.setenv("BLIGHTMAP_FORECAST_SKILL_HORIZONS", "[1, 3]")


def _forecast(data_dir: Path, out: Path, *extra: str) -> int:
    argv = ["forecast", "--days", "4", "--runs", "12", "--seed", "5"]
    return main([*argv, "--out", str(out), "--data", str(data_dir), *extra])


def test_writes_json_geojson_geotiff_and_png(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _forecast(data_dir, out) == 0
    doc = json.loads((out / "forecast.json").read_text())
    assert doc["request"]["horizon_days"] == 4 and doc["request"]["runs"] == 12
    result = doc["result"]
    assert [c["day"] for c in result["expected_blighted_towers"]] == [1, 2, 3, 4]
    assert result["calibration"]["status"] in ("fitted", "updated", "unchanged")
    assert result["skill"]["status"] == "computed"
    fronts = json.loads((out / "fronts.geojson").read_text())
    assert fronts == result["fronts"] and fronts["type"] == "FeatureCollection"
    assert all(1 <= f["properties"]["day"] <= 4 for f in fronts["features"])
    tif = out / "probability.tif"
    assert cog_validate(str(tif))[0]
    with rasterio.open(tif) as ds:
        assert ds.count == 4 and ds.crs.is_projected
        assert [ds.tags(b)["day"] for b in range(1, 5)] == ["1", "2", "3", "4"]
        assert int(ds.tags()["data_version"]) == doc["data_version"]
        probability = ds.read()
    assert 0.0 <= float(np.nanmin(probability)) <= float(np.nanmax(probability)) <= 1.0
    with Image.open(out / "expected-towers.png") as png:
        png.load()
        assert png.format == "PNG" and png.size[0] > 300 and png.size[1] > 200
        pixels = np.asarray(png.convert("RGB"))
    reddish = (pixels[..., 0] > 150) & (pixels[..., 1] < 120) & (pixels[..., 2] < 120)
    assert reddish.sum() > 50  # the curve and its band are drawn


def test_same_seed_same_forecast_and_the_calibration_is_shared(
    data_dir: Path, tmp_path: Path
) -> None:
    assert _forecast(data_dir, tmp_path / "a") == 0
    assert _forecast(data_dir, tmp_path / "b") == 0
    a = json.loads((tmp_path / "a" / "forecast.json").read_text())["result"]
    b = json.loads((tmp_path / "b" / "forecast.json").read_text())["result"]
    assert a == b  # including calibration.computed_at: the second run reused it
    assert (data_dir / "forecast-calibration").is_dir()


def test_a_scenario_file_treating_the_top_zone(data_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    try:
        field = compute_field(store, build_state(settings, store).towers.current(), settings)
    finally:
        store.close()
    top = min(field.zones, key=lambda z: z.rank)
    scenario = tmp_path / "scenario.json"
    treatment = {"day": 0, "zone_id": top.id, "strain": "B. subtilis", "dose_l_per_m2": 1.0}
    scenario.write_text(json.dumps({"treatments": [treatment]}))
    assert _forecast(data_dir, tmp_path / "plain") == 0
    assert _forecast(data_dir, tmp_path / "treated", "--scenario", str(scenario)) == 0

    def total(name: str) -> float:
        doc = json.loads((tmp_path / name / "forecast.json").read_text())
        return sum(c["mean"] for c in doc["result"]["expected_blighted_towers"])

    assert total("treated") <= total("plain")
    treated = json.loads((tmp_path / "treated" / "forecast.json").read_text())
    assert treated["request"]["scenario"]["treatments"][0]["zone_id"] == top.id


@pytest.mark.parametrize(
    ("extra", "scenario", "named"),
    [
        (("--days", "0"), None, "--days"),
        (("--runs", "100000"), None, "--runs"),
        (("--threshold", "2"), None, "--threshold"),
        ((), "{not json", "--scenario"),
        ((), {"treatments": [{"day": 0, "strain": "s", "dose_l_per_m2": 0}]}, "dose_l_per_m2"),
        (
            (),
            {"treatments": [{"day": 0, "zone_id": "zone-none", "strain": "s", "dose_l_per_m2": 1}]},
            "scenario.treatments.0.zone_id",
        ),
    ],
)
def test_bad_inputs_are_reported_naming_the_field(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    scenario: Any,
    named: str,
) -> None:
    args = list(extra)
    if scenario is not None:
        path = tmp_path / "scenario.json"
        path.write_text(scenario if isinstance(scenario, str) else json.dumps(scenario))
        args += ["--scenario", str(path)]
    out = tmp_path / "out"
    assert _forecast(data_dir, out, *args) == 2
    err = capsys.readouterr().err
    assert "error:" in err and named in err
    assert not out.exists()
