"""Build step of the wheel: copy the browser libraries from ``node_modules`` into it.

Everything else is declared in ``pyproject.toml``. The pages (``/map``, ``/ar-preview``,
``/docs``, ``/redoc``) need three.js, MapLibre GL JS, Swagger UI and Redoc from npm;
``service/static/vendor.json`` lists the files (the service serves exactly those), and
this step copies them, with each package's licence, from ``node_modules`` (``npm ci``)
into the wheel's ``service/static/vendor/``. Nothing is written into the source tree.
A build without ``node_modules`` fails, naming the missing files, unless
``BLIGHTMAP_BUILD_WITHOUT_WEB=1`` (the pages then answer 503). Editable installs skip
the copy: they serve ``node_modules`` directly.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
MANIFEST = ROOT / "service" / "static" / "vendor.json"
NODE_MODULES = ROOT / "node_modules"


def vendor_files() -> list[Path]:
    """The files to copy, relative to ``node_modules`` (served files and licences)."""
    manifest = json.loads(MANIFEST.read_text())
    files: list[Path] = []
    for name, spec in manifest.items():
        if name.startswith("_"):
            continue
        files += [Path(name) / spec["root"] / f for f in spec["files"]]
        files.append(Path(name) / spec["license"])
    return files


class BuildPyWithVendor(build_py):
    """``build_py`` that also copies the npm files listed in ``vendor.json``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        files = vendor_files()
        missing = [str(f) for f in files if not (NODE_MODULES / f).is_file()]
        if missing:
            if os.environ.get("BLIGHTMAP_BUILD_WITHOUT_WEB") == "1":
                return
            raise SystemExit(
                f"node_modules lacks {', '.join(missing)}: run `npm ci` before building"
                " (or set BLIGHTMAP_BUILD_WITHOUT_WEB=1 for a wheel without web pages)"
            )
        target = Path(self.build_lib) / "service" / "static" / "vendor"
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(NODE_MODULES / relative, target / relative)


setup(cmdclass={"build_py": BuildPyWithVendor})
