"""``blightmap export``: the bundle from the command line, and ``export towers`` still works."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pyogrio
import pytest
from pypdf import PdfReader
from rio_cogeo.cogeo import cog_validate

from service.app import open_store
from service.cli import main
from service.demo import seed_demo
from service.settings import Settings

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    store = open_store(Settings(data_dir=data))
    try:
        seed_demo(store, seed=7, end=END)
    finally:
        store.close()
    return data


def test_export_writes_the_bundle(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    argv = [
        "export",
        "--zooms",
        "15",
        "16",
        "--layers",
        "blight",
        "towers",
        "--formats",
        "mbtiles",
        "cog",
        "pdf",
        "--paper",
        "Letter",
        "--orientation",
        "portrait",
        "--dpi",
        "150",
        "--title",
        "From the CLI",
        "--out",
        str(out),
        "--data",
        str(data_dir),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "exported 4 files" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "blight.mbtiles",
        "field.tif",
        "map.pdf",
        "vector.mbtiles",
    ]
    page = PdfReader(out / "map.pdf").pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((612, 792))
    assert "From the CLI" in page.extract_text()
    assert cog_validate(out / "field.tif", quiet=True)[0]
    assert {n for n, _ in pyogrio.list_layers(out / "vector.mbtiles")} == {"towers"}
    with closing(sqlite3.connect(out / "blight.mbtiles")) as db:
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    assert (meta["minzoom"], meta["maxzoom"], meta["format"]) == ("15", "16", "png")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dpi", "100"], "print.dpi"),
        (["--zooms", "16", "15"], "zooms"),
        (["--bbox", "13.3", "52.4", "13.5", "52.6"], "bbox"),
    ],
)
def test_bad_options_are_reported_not_raised(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    argv = ["export", "--formats", "pdf", "--out", str(tmp_path / "o"), "--data", str(data_dir)]
    assert main(argv + extra) == 2
    assert message in capsys.readouterr().err


def test_export_needs_an_out_directory(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--data", str(data_dir)]) == 2
    assert "--out" in capsys.readouterr().err


def test_export_towers_is_still_a_subcommand(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "towers.gpkg"
    assert main(["export", "towers", str(target), "--data", str(data_dir)]) == 0
    assert len(pyogrio.read_dataframe(target, layer="towers")) == 52
