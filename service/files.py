"""Every file the service serves, with byte ranges, ``HEAD`` and validators: one helper.

GDAL's ``/vsicurl/`` (and QGIS, and any COG viewer) reads a Cloud-Optimized GeoTIFF
with ``HEAD`` and ``Range`` requests; browsers and caches revalidate with
``If-None-Match``. Starlette's :class:`~starlette.responses.FileResponse` already
answers ``Range`` (206, multipart for several ranges, 416 with ``Content-Range: bytes
*/size`` past the end), ``If-Range`` (a changed ETag gets the whole file) and
``HEAD`` (headers only); :func:`file_response` adds the strong ETag we choose and
``If-None-Match`` (304), and :func:`get_and_head` registers one endpoint for both
methods (FastAPI routes answer only the methods they name).

Files made in memory (the field's COG, a forecast's probability grids, glTF assets)
are written once per ETag into a :class:`Spool` so that the many small range requests
of a COG reader do not each rebuild the file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse

from service.errors import NotModified
from service.lifespan import close_on_shutdown

__all__ = ["SPOOL_KEY", "Spool", "SpoolDep", "file_response", "get_and_head", "install_spool"]

SPOOL_KEY = "file_spool"
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (RFC 9110 weak comparison)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in if_none_match.split(","))


def file_response(
    request: Request,
    path: Path,
    *,
    media_type: str,
    etag: str,
    filename: str | None = None,
    cache_control: str | None = None,
) -> FileResponse:
    """``path`` as a response that honours ``Range``, ``If-Range``, ``HEAD`` and
    ``If-None-Match``.

    ``etag`` is a strong entity tag with its quotes (``'"v7"'``); it names the
    content, so ``If-Range`` and ``If-None-Match`` compare against it.

    Raises
    ------
    NotModified
        ``If-None-Match`` matches ``etag`` (rendered as 304 by :mod:`service.errors`).
    """
    if etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)
    headers = {"ETag": etag}
    if cache_control is not None:
        headers["Cache-Control"] = cache_control
    return FileResponse(path, media_type=media_type, headers=headers, filename=filename)


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[_Endpoint], _Endpoint]:
    """Register the decorated endpoint for ``GET`` (documented) and ``HEAD`` on ``path``.

    ``kwargs`` go to the ``GET`` route; the ``HEAD`` route shares its dependencies
    (permissions included) and stays out of the OpenAPI document.
    """

    def decorate(endpoint: _Endpoint) -> _Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"], **kwargs)
        router.add_api_route(
            path,
            endpoint,
            methods=["HEAD"],
            include_in_schema=False,
            dependencies=kwargs.get("dependencies"),
        )
        return endpoint

    return decorate


class Spool:
    """A private directory of files made in memory, written once per name.

    Each kind of file has its own subdirectory; names carry what identifies the
    content (a data version, a job id, a hash). The newest ``keep`` files of a kind
    stay, older ones are removed as new ones come.
    """

    def __init__(self, parent: Path, keep: int = 64) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="files-", dir=parent))
        self._keep = keep
        self._locks: dict[Path, asyncio.Lock] = {}

    async def path(self, kind: str, name: str, produce: Callable[[], bytes]) -> Path:
        """The file ``name`` of ``kind``, calling ``produce()`` in a worker thread if new."""
        target = self.directory / kind / name
        if target.is_file():
            return target
        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:
            if not target.is_file():
                data = await run_in_threadpool(produce)
                await run_in_threadpool(self._write, target, data)
        self._locks.pop(target, None)
        return target

    def _write(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
        self._prune(target.parent)

    def _prune(self, directory: Path) -> None:
        entries = []
        with os.scandir(directory) as it:
            for entry in it:
                if entry.name.endswith(".part"):
                    continue
                try:
                    entries.append((entry.stat().st_mtime_ns, entry.path))
                except FileNotFoundError:
                    continue
        for _, old in sorted(entries, reverse=True)[self._keep :]:
            Path(old).unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the directory and everything in it."""
        shutil.rmtree(self.directory, ignore_errors=True)


def install_spool(app: FastAPI, data_dir: Path) -> Spool:
    """Give ``app`` a :class:`Spool` under ``data_dir/cache``, removed on shutdown."""
    spool = Spool(data_dir / "cache")
    setattr(app.state, SPOOL_KEY, spool)

    async def aclose() -> None:
        spool.close()

    close_on_shutdown(app, aclose)
    return spool


def _spool(request: Request) -> Spool:
    spool: Spool = getattr(request.app.state, SPOOL_KEY)
    return spool


SpoolDep = Annotated[Spool, Depends(_spool)]
