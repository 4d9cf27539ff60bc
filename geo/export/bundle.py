"""One export request, several files: the bundle runner with progress and cancellation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geo.export.cog import write_cog
from geo.export.gpkg import write_gpkg
from geo.export.packages import package_metadata, write_mbtiles, write_pmtiles
from geo.export.pdf import write_pdf
from geo.export.spec import (
    MAX_TILES,
    RASTER_LAYERS,
    BBox,
    ExportData,
    ExportSpec,
    PrintOptions,
    check_spec,
)
from geo.export.tilesets import render_tile_set, tile_sets, tiles_covering

__all__ = ["MEDIA_TYPES", "ExportedFile", "PdfWriter", "run_export", "write_pdf_here"]

MEDIA_TYPES = {
    "mbtiles": "application/vnd.mapbox-mbtiles",
    "pmtiles": "application/vnd.pmtiles",
    "cog": "image/tiff; application=geotiff; profile=cloud-optimized",
    "gpkg": "application/geopackage+sqlite3",
    "pdf": "application/pdf",
}
"""Media type of each export format."""

Progress = Callable[[int], None]
PdfWriter = Callable[
    [ExportData, BBox, tuple[str, ...], PrintOptions, Path, Callable[[], None]], object
]
"""Writes the print sheet: ``(data, area, layers, options, path, check)``; ``check()``
may be called while it works and raises to cancel."""


def write_pdf_here(
    data: ExportData,
    area_wgs84: BBox,
    layers: tuple[str, ...],
    options: PrintOptions,
    path: Path,
    check: Callable[[], None],
) -> object:
    """The default :data:`PdfWriter`: :func:`~geo.export.pdf.write_pdf` in this process."""
    return write_pdf(data, area_wgs84, layers, options, path)


_COG_COST, _GPKG_COST, _PDF_COST_PER_PAGE = 20.0, 40.0, 200.0


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """One file of a bundle.

    Attributes
    ----------
    format : str
        Among :data:`geo.export.spec.FORMATS`.
    name : str
        File name inside the bundle's directory.
    bytes : int
    layers : tuple of str
        The layers it holds.
    """

    format: str
    name: str
    bytes: int
    layers: tuple[str, ...]

    @property
    def media_type(self) -> str:
        """The file's media type."""
        return MEDIA_TYPES[self.format]


class _Meter:
    """Turns units of work into a percentage for ``progress`` (which may raise to stop)."""

    def __init__(self, total: float, progress: Progress | None) -> None:
        self.total, self.done, self.progress, self.last = max(total, 1.0), 0.0, progress, -1

    def add(self, units: float) -> None:
        self.done += units
        percent = min(99, int(100 * self.done / self.total))
        if self.progress is not None and percent != self.last:
            self.last = percent
            self.progress(percent)

    def check(self) -> None:
        if self.progress is not None:
            self.progress(max(self.last, 0))


def _cost(spec: ExportSpec, n_tiles: int) -> float:
    total = 0.0
    if spec.tiled_formats:
        total += n_tiles * len(tile_sets(spec.layers)) * (1 + 0.1 * len(spec.tiled_formats))
    total += _COG_COST * ("cog" in spec.formats) + _GPKG_COST * ("gpkg" in spec.formats)
    if "pdf" in spec.formats:
        pages = max(1, sum(layer in spec.layers for layer in RASTER_LAYERS))
        total += _PDF_COST_PER_PAGE * pages * (spec.print_options.dpi / 300.0) ** 2
    return total


def _tile_packages(
    spec: ExportSpec,
    data: ExportData,
    area: tuple[float, float, float, float],
    out_dir: Path,
    meter: _Meter,
) -> list[ExportedFile]:
    files: list[ExportedFile] = []
    tiles = tiles_covering(area, spec.zooms)
    for tile_set in tile_sets(spec.layers):
        rendered = list(render_tile_set(tile_set, data, tiles, lambda: meter.add(1.0)))
        meta = package_metadata(tile_set, data, area, spec.zooms)
        for fmt in spec.tiled_formats:
            name = f"{tile_set.name}.{fmt}"
            if fmt == "mbtiles":
                size = write_mbtiles(out_dir / name, meta, rendered)
            elif rendered:
                size = write_pmtiles(out_dir / name, tile_set, meta, area, spec.zooms, rendered)
            else:  # a PMTiles archive cannot be empty; nothing to show there anyway
                continue
            meter.add(0.1 * len(tiles))
            files.append(ExportedFile(fmt, name, size, tile_set.layers))
    return files


def run_export(
    spec: ExportSpec,
    data: ExportData,
    out_dir: Path,
    progress: Progress | None = None,
    max_tiles: int = MAX_TILES,
    pdf_writer: PdfWriter = write_pdf_here,
) -> list[ExportedFile]:
    """Write every file ``spec`` asks for into ``out_dir`` (created); return them in order.

    ``progress(percent)`` is called as work advances (0 to 99; 100 is the caller's to
    say once the files are listed) and may raise to cancel; files already written stay
    (the caller removes the directory). ``pdf_writer`` draws the print sheet (a service
    renders it in a child process, :mod:`service.print_worker`).

    Raises
    ------
    GeoError
        When the request does not fit the data (:func:`~geo.export.spec.check_spec`).
    """
    area = check_spec(spec, data, max_tiles)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_tiles = len(tiles_covering(area, spec.zooms)) if spec.tiled_formats else 0
    meter = _Meter(_cost(spec, n_tiles), progress)
    meter.check()
    files: list[ExportedFile] = []
    if spec.tiled_formats:
        files += _tile_packages(spec, data, area, out_dir, meter)
    rasters = tuple(layer for layer in spec.layers if layer in RASTER_LAYERS)
    if "cog" in spec.formats:
        size = write_cog(data, area, out_dir / "field.tif")
        files.append(ExportedFile("cog", "field.tif", size, rasters or ("blight", "uncertainty")))
        meter.add(_COG_COST)
    if "gpkg" in spec.formats:
        size = write_gpkg(data, area, spec.layers, out_dir / "blightmap.gpkg")
        files.append(ExportedFile("gpkg", "blightmap.gpkg", size, spec.layers))
        meter.add(_GPKG_COST)
    if "pdf" in spec.formats:
        path = out_dir / "map.pdf"
        pdf_writer(data, area, spec.layers, spec.print_options, path, meter.check)
        files.append(ExportedFile("pdf", "map.pdf", path.stat().st_size, spec.layers))
        meter.add(_PDF_COST_PER_PAGE)
    return files
