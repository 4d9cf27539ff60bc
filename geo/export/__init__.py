"""Exports for print and offline use: MBTiles, PMTiles, COG, GeoPackage and a PDF sheet.

Pure core (no web framework): each writer takes an :class:`ExportData` snapshot and an
area, writes one file and returns what it wrote; :func:`geo.export.bundle.run_export`
writes a bundle of several with progress and cancellation.
"""

from geo.export.spec import (
    FORMATS,
    LAYERS,
    PAPER_SIZES_MM,
    ExportData,
    ExportSpec,
    PrintOptions,
    check_spec,
)

__all__ = [
    "FORMATS",
    "LAYERS",
    "PAPER_SIZES_MM",
    "ExportData",
    "ExportSpec",
    "PrintOptions",
    "check_spec",
]
