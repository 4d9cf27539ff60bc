"""Packaging (issue 14, finding 5): every module the packages import is a declared
runtime dependency, the version floors hold what the code uses, and the wheel, built
as the Dockerfile builds it and installed without extras into a fresh venv, serves
``/healthz``, ``/map``, ``/ar-preview``, ``/docs`` and ``/redoc`` with no source tree
and no ``node_modules`` around it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
import tomllib
import venv
from importlib.metadata import packages_distributions
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import ROOT, free_port

PACKAGES = ("geo", "service", "ar_assets")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {Requirement(r).name.lower().replace("_", "-"): Requirement(r) for r in
           PROJECT["dependencies"]}  # fmt: skip
FLOORS = {
    "uvicorn": ("0.35", "service/stream/frames.py subclasses websockets_sansio_impl"),
    "starlette": ("0.39", "service/files.py relies on FileResponse's Range support"),
}


def _imported_modules() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in PACKAGES}


def test_every_imported_module_is_a_declared_runtime_dependency() -> None:
    """jsonschema and referencing were test-only: an installed wheel could not start."""
    dists = packages_distributions()
    undeclared = {}
    for module in sorted(_imported_modules()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & set(RUNTIME):
            undeclared[module] = sorted(names)
    assert undeclared == {}, "imported at run time but not in [project] dependencies"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_version_floors_hold_what_the_code_uses(name: str) -> None:
    floor, why = FLOORS[name]
    specs = [s for s in RUNTIME[name].specifier if s.operator == ">="]
    assert specs and Version(specs[0].version) >= Version(floor), why


def test_the_dockerfile_builds_and_installs_as_the_test_does() -> None:
    docker = (ROOT / "Dockerfile").read_text()
    assert "npm ci --omit=dev" in docker
    assert "COPY --from=npm /src/node_modules ./node_modules" in docker
    assert re.search(r"COPY pyproject.toml setup.py", docker)
    assert "pip wheel" in docker and "BLIGHTMAP_VENDOR_DIR" not in docker
    assert not re.search(r"pip install[^\n]*\[", docker), "no extras at run time"


def _clean_env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PIP_")}
    env["HOME"] = env.get("HOME", str(home))
    return env


@pytest.mark.live
def test_the_wheel_installs_without_extras_and_serves_every_page(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("blightmap-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    env = _clean_env(tmp_path)
    installed = subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "--no-compile", str(wheel)],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import service, jsonschema; print(service.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(env_dir)), "the installed package, not the source tree"
    port = free_port()
    server = subprocess.Popen(
        [str(bin_dir / "blightmap"), "serve", "--data", str(tmp_path / "data"),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _check_pages(f"http://127.0.0.1:{port}", server)
    finally:
        server.terminate()
        server.wait(20)


def _check_pages(url: str, server: subprocess.Popen[bytes]) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        # the first start compiles what it imports (installed with --no-compile): minutes
        # on a loaded machine
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert http.get("/healthz").json()["status"] == "ok"
        for page, library in [
            ("/map", "/vendor/maplibre-gl/maplibre-gl.mjs"),
            ("/ar-preview", "/vendor/three/build/three.module.js"),
            ("/docs", "/vendor/swagger-ui-dist/swagger-ui-bundle.js"),
            ("/redoc", "/vendor/redoc/redoc.standalone.js"),
        ]:
            response = http.get(page)
            assert response.status_code == 200, (page, response.text[:300])
            assert response.headers["content-type"].startswith("text/html")
            script = http.get(library)
            assert script.status_code == 200, library
            assert script.headers["content-type"].startswith("text/javascript")
            assert len(script.content) > 100_000, library
        for module in ("/vendor/three/build/three.core.js",
                       "/vendor/three/examples/jsm/loaders/GLTFLoader.js",
                       "/vendor/maplibre-gl/maplibre-gl-worker.mjs",
                       "/vendor/maplibre-gl/maplibre-gl.css"):  # fmt: skip
            assert http.get(module).status_code == 200, module
