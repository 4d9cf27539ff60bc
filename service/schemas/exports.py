"""Request model for ``POST /exports``: area, zooms, layers, formats and the print sheet."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from geo.export import ExportSpec, PrintOptions
from geo.export.spec import MAX_DPI, MAX_ZOOM, MIN_DPI, MIN_ZOOM
from service.schemas.geojson import StrictModel

__all__ = ["ExportIn", "PrintIn"]

Layer = Literal["blight", "uncertainty", "towers", "zones"]
Format = Literal["mbtiles", "pmtiles", "cog", "gpkg", "pdf"]
Zoom = Annotated[int, Field(ge=MIN_ZOOM, le=MAX_ZOOM)]
Degrees = float


class PrintIn(StrictModel):
    """The PDF sheet."""

    paper: Literal["A4", "A3", "A2", "Letter"] = "A3"
    orientation: Literal["portrait", "landscape"] = "landscape"
    dpi: int = Field(300, ge=MIN_DPI, le=MAX_DPI, description="Dots per inch of the map image.")
    title: Annotated[str, StringConstraints(min_length=1, max_length=120)] = (
        "Blight in the district"
    )


class ExportIn(StrictModel):
    """An export: a bundle of files of one area (the whole district without ``bbox``)."""

    bbox: Annotated[list[Degrees], Field(min_length=4, max_length=4)] | None = Field(
        None, description="[west, south, east, north], WGS84 degrees; omit for the district."
    )
    zooms: Annotated[list[Zoom], Field(min_length=2, max_length=2)] = Field(
        [15, 19], description=f"[min, max] WebMercatorQuad zooms, {MIN_ZOOM} to {MAX_ZOOM}."
    )
    layers: Annotated[list[Layer], Field(min_length=1, max_length=4)] = [
        "blight",
        "uncertainty",
        "towers",
        "zones",
    ]
    formats: Annotated[list[Format], Field(min_length=1, max_length=5)]
    print: PrintIn = PrintIn()

    def to_spec(self) -> ExportSpec:
        """The core's request (raises :class:`~geo.errors.InvalidParameter` naming a field)."""
        bbox = self.bbox
        return ExportSpec(
            bbox_wgs84=(bbox[0], bbox[1], bbox[2], bbox[3]) if bbox is not None else None,
            zooms=(self.zooms[0], self.zooms[1]),
            layers=tuple(self.layers),
            formats=tuple(self.formats),
            print_options=PrintOptions(
                self.print.paper, self.print.orientation, self.print.dpi, self.print.title
            ),
        )
