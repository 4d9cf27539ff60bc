"""``ar_assets`` is a library: it never imports the web layer or ``service``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"fastapi", "starlette", "uvicorn", "service", "pydantic_settings", "anyio"}
MODULES = sorted((ROOT / "ar_assets").glob("**/*.py"))


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_ar_assets_stays_pure(path: Path) -> None:
    assert not imported_packages(path) & FORBIDDEN


def test_the_check_sees_the_modules() -> None:
    assert len(MODULES) >= 10
    assert "geo" in imported_packages(ROOT / "ar_assets" / "overlays.py")
