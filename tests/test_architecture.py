"""Data flows one way: ``geo/`` never imports the web layer, settings or ``service/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_GEO = {"fastapi", "starlette", "uvicorn", "service", "pydantic_settings"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "path", sorted(ROOT.glob("geo/**/*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_geo_stays_pure(path: Path) -> None:
    assert not _imports(path) & FORBIDDEN_IN_GEO


def test_the_check_sees_geo_modules() -> None:
    assert len(list(ROOT.glob("geo/**/*.py"))) >= 5


def test_sqlite_stays_in_its_adapter() -> None:
    offenders = [
        p
        for p in ROOT.glob("service/**/*.py")
        if "sqlite3" in _imports(p) and not p.name.startswith("gpkg")
    ]
    assert offenders == []


def test_the_forecast_never_reads_the_outbreak_simulator() -> None:
    """The demo outbreak is the ground truth forecasts are scored on: no shared code."""
    for path in ROOT.glob("geo/forecast/**/*.py"):
        tree = ast.parse(path.read_text())
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert not any(m and m.startswith("geo.demo") for m in modules), path
