"""The browser libraries from npm (three.js, MapLibre GL JS, Swagger UI, Redoc), served
under ``/vendor/<package>/<name>``: no CDN, the pages work with no internet.

Which files are served, with which media type, is declared once in
``service/static/vendor.json``; ``setup.py`` copies the same files into the wheel at
build time (``service/static/vendor/<package>/...``, the ``node_modules`` layout), so an
installed package serves its pages. At run time the files are looked up there first,
then in the source tree's ``node_modules`` (``npm ci``), unless the ``vendor_dir``
setting names one directory to use instead. Only listed files are served, through
:func:`service.files.file_response` (ranges, ``HEAD``, ETags) like every file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from starlette.responses import FileResponse

from service.errors import ApiError, ResourceNotFound
from service.files import file_response, get_and_head

__all__ = [
    "BUNDLED_DIR",
    "MANIFEST",
    "NODE_MODULES",
    "VendorFiles",
    "VendorMissing",
    "install",
    "manifest",
    "vendor_roots",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
MANIFEST = STATIC_DIR / "vendor.json"
BUNDLED_DIR = STATIC_DIR / "vendor"
"""Where ``setup.py`` puts the npm files in a built wheel."""
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
"""A source tree's ``node_modules`` (``npm ci``)."""
KEY = "vendor_files"
_FIELDS = ("root", "page", "files", "dev_files", "license")


class VendorMissing(ApiError):
    """A page's library is neither in the package nor in ``node_modules``."""

    status, title, slug = 503, "Browser library missing", "vendor-missing"


@dataclass(frozen=True, slots=True)
class Package:
    """One npm package's served files (see ``vendor.json``)."""

    name: str
    root: str
    page: str
    files: dict[str, str]
    dev_files: dict[str, str]
    license: str

    def media_type(self, name: str) -> str | None:
        """The media type of a served file, ``None`` if it is not served."""
        return self.files.get(name) or self.dev_files.get(name)

    def relative(self, name: str) -> Path:
        """Where ``name`` lies inside a vendor directory."""
        return Path(self.name) / self.root / name


@cache
def manifest() -> dict[str, Package]:
    """The packages of ``vendor.json`` by name."""
    raw: dict[str, Any] = json.loads(MANIFEST.read_text())
    return {
        name: Package(name, **{k: spec[k] for k in _FIELDS})
        for name, spec in raw.items()
        if not name.startswith("_")
    }


def vendor_roots(vendor_dir: Path | None) -> tuple[Path, ...]:
    """The directories searched, in order: ``vendor_dir`` alone when set, else the
    files built into the package, then the source tree's ``node_modules``."""
    return (vendor_dir,) if vendor_dir is not None else (BUNDLED_DIR, NODE_MODULES)


class VendorFiles:
    """Finds the listed npm files in the vendor directories."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self.packages = manifest()

    def find(self, package: str, name: str) -> Path | None:
        """The file ``name`` of ``package`` if it is listed and present, else ``None``."""
        spec = self.packages.get(package)
        if spec is None or spec.media_type(name) is None:
            return None
        for root in self.roots:
            path = root / spec.relative(name)
            if path.is_file():
                return path
        return None

    def require(self, package: str) -> None:
        """Raise :class:`VendorMissing` unless the page file of ``package`` is here."""
        if self.find(package, self.packages[package].page) is None:
            raise VendorMissing(
                f"{package} is not installed here: run `make install` (npm ci), "
                "or install a wheel built with it"
            )


def vendor_files(request: Request) -> VendorFiles:
    """The app's :class:`VendorFiles` (set by :func:`install`)."""
    files: VendorFiles = getattr(request.app.state, KEY)
    return files


def install(app: FastAPI, vendor_dir: Path | None) -> VendorFiles:
    """Serve the listed npm files of ``vendor_dir`` (or the defaults) under ``/vendor``."""
    files = VendorFiles(vendor_roots(vendor_dir))
    setattr(app.state, KEY, files)
    router = APIRouter(include_in_schema=False)

    @get_and_head(router, "/vendor/{package}/{name:path}", include_in_schema=False)
    def vendored(
        request: Request,
        package: Annotated[str, PathParam(max_length=64)],
        name: Annotated[str, PathParam(max_length=128)],
    ) -> FileResponse:
        path = files.find(package, name)
        if path is None:
            raise ResourceNotFound("no such browser library file here")
        stat = path.stat()
        etag = f'"{package}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        media_type = files.packages[package].media_type(name)
        assert media_type is not None
        return file_response(request, path, media_type=media_type, etag=etag)

    app.include_router(router)
    return files
