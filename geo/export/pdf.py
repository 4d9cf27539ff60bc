"""A print-ready PDF map sheet (matplotlib), one page per raster layer.

Every page is exactly the paper size. The map is drawn in the district's local metric
frame (UTM where possible) at a round scale (1:N), with grid north up, so the scale
bar is true on paper up to the projection's scale factor (stated). Around the map:
title, legend drawn from the layer's colormap (:mod:`geo.colormap`, the one the tiles
and AR overlays use), scale bar, north arrow with true north, data time and version,
CRS, interpolation method and attribution. The field is embedded as an image at the
requested DPI, interpolated between cell centres (:mod:`geo.export.print_field`), so
5 m cells do not print as stair steps; vectors stay vectors; zone ranks and tower
names are labelled without collisions (:mod:`geo.export.print_labels`).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle
from matplotlib.patches import Polygon as MplPolygon

from geo.colormap import Colormap, colormap
from geo.export.area import area_local
from geo.export.print_field import LAYER_COLORMAP, field_strips
from geo.export.print_labels import Label, PlacedLabel, place_labels, tower_labels, zone_labels
from geo.export.sheet import NorthInfo, nice_scale_denominator, north_info, scale_bar_length_m
from geo.export.spec import RASTER_LAYERS, BBox, ExportData, PrintOptions
from geo.tiles.raster import Resampling

__all__ = ["LAYER_COLORMAP", "PrintLayout", "write_pdf"]

_LEGEND_LABEL = {
    "blight": "Blight intensity (0 = healthy, 1 = lost)",
    "uncertainty": "Standard error of the blight intensity",
}
_MARGIN_MM = 10.0
_TITLE_MM = 16.0
_PANEL_MM = 34.0
_GAP_MM = 4.0
_ZONE_COLOUR = "#b2182b"
Box = tuple[float, float, float, float]
_INFO_PT = 7.0  # nine lines fit the panel and 64 characters its narrowest column (A4)


@dataclass(frozen=True, slots=True)
class PrintLayout:
    """Where the map sits on the sheet and what it claims, for checks and captions.

    Attributes
    ----------
    page_size_pt : (width, height)
        PostScript points.
    map_box_pt : (x0, y0, x1, y1)
        The map frame on the page, points from the bottom-left corner.
    map_bounds_m : (minx, miny, maxx, maxy)
        What the map frame shows, metres in the local frame.
    scale_denominator : int
        The map scale is 1:``scale_denominator`` on the printed sheet.
    north : NorthInfo
    pages : tuple of str
        The raster layer of each page (``"none"`` for a page of vectors only).
    labels : tuple of PlacedLabel
        The zone ranks and tower names on every page, where they are printed.
    """

    page_size_pt: tuple[float, float]
    map_box_pt: tuple[float, float, float, float]
    map_bounds_m: tuple[float, float, float, float]
    scale_denominator: int
    north: NorthInfo
    pages: tuple[str, ...]
    labels: tuple[PlacedLabel, ...] = ()


def _map_frame(
    options: PrintOptions, bounds_m: tuple[float, float, float, float]
) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float], int]:
    """The map box (mm, from bottom-left), the bounds it shows (m) and the scale 1:N."""
    width_mm, height_mm = options.size_mm
    box_mm = (
        _MARGIN_MM,
        _MARGIN_MM + _PANEL_MM + _GAP_MM,
        width_mm - _MARGIN_MM,
        height_mm - _MARGIN_MM - _TITLE_MM,
    )
    box_w, box_h = box_mm[2] - box_mm[0], box_mm[3] - box_mm[1]
    minx, miny, maxx, maxy = bounds_m
    m_per_mm = max((maxx - minx) / box_w, (maxy - miny) / box_h)
    denominator = nice_scale_denominator(m_per_mm * 1000.0)
    m_per_mm = denominator / 1000.0
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    half_w, half_h = box_w * m_per_mm / 2.0, box_h * m_per_mm / 2.0
    return box_mm, (cx - half_w, cy - half_h, cx + half_w, cy + half_h), denominator


def _draw_field(
    ax: Axes, data: ExportData, layer: str, scale: int, dpi: int, resampling: Resampling
) -> Colormap:
    """Draw the layer at about ``dpi`` pixels per inch of paper (:mod:`print_field`); the
    images are embedded as they are (``interpolation="none"``), so the PDF holds that
    resolution."""
    cell_in = data.grid.spec.resolution_m * 1000.0 / scale / 25.4
    cell_px = max(1, round(cell_in * dpi))
    for image, extent in field_strips(data.grid, layer, cell_px, resampling):
        ax.imshow(image, extent=extent, origin="upper", interpolation="none", zorder=1)
    return colormap(LAYER_COLORMAP[layer])


def _labels(
    data: ExportData, layers: tuple[str, ...], layout_bounds: Box, scale: int, fs: float
) -> tuple[PlacedLabel, ...]:
    """Zone ranks and tower names placed without collisions (:mod:`print_labels`)."""
    wanted: list[Label] = []
    if "zones" in layers:
        wanted += zone_labels(((z.rank, z.geometry_local) for z in data.zones), fs * 1.1)
    if "towers" in layers:
        wanted += tower_labels(
            (
                (t.name or t.id, data.frame.geometry_to_local(t.footprint_wgs84))
                for t in data.towers
            ),
            fs * 0.85,
        )
    return tuple(place_labels(wanted, layout_bounds, scale))


def _draw_labels(ax: Axes, labels: tuple[PlacedLabel, ...]) -> None:
    for placed in labels:
        x0, y0, x1, y1 = placed.box_m
        zone = placed.label.kind == "zone"
        ax.add_patch(
            Rectangle(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                facecolor="white",
                edgecolor=_ZONE_COLOUR if zone else "none",
                linewidth=0.5,
                alpha=0.85,
                zorder=5,
            )
        )
        ax.text(
            *placed.centre_m,
            placed.label.text,
            ha="center",
            va="center",
            fontsize=placed.label.font_pt,
            fontweight="bold" if placed.label.bold else "normal",
            color=_ZONE_COLOUR if zone else "black",
            zorder=6,
        )


def _draw_vectors(ax: Axes, data: ExportData, layers: tuple[str, ...]) -> None:
    if "zones" in layers:
        for zone in data.zones:
            xy = np.asarray(zone.geometry_local.exterior.coords)
            ax.add_patch(
                MplPolygon(
                    xy,
                    closed=True,
                    fill=False,
                    edgecolor=_ZONE_COLOUR,
                    linewidth=0.9,
                    linestyle=(0, (4, 2)),
                    zorder=3,
                )
            )
    if "towers" in layers:
        for tower in data.towers:
            local = data.frame.geometry_to_local(tower.footprint_wgs84)
            if local.geom_type == "Point":
                ax.plot(
                    [local.x],
                    [local.y],
                    marker="s",
                    markersize=3,
                    markerfacecolor="none",
                    markeredgecolor="black",
                    markeredgewidth=0.6,
                    zorder=4,
                )
                continue
            xy = np.asarray(local.exterior.coords)
            ax.add_patch(
                MplPolygon(xy, closed=True, fill=False, edgecolor="black", linewidth=0.6, zorder=4)
            )


def _legend(
    fig: Figure, rect: tuple[float, float, float, float], cmap: Colormap, layer: str, fs: float
) -> None:
    cax = fig.add_axes(rect)
    mpl_cmap = ListedColormap(cmap.lut[:, :3] / 255.0, name=cmap.name)
    gradient = np.linspace(cmap.vmin, cmap.vmax, 256).reshape(1, -1)
    cax.imshow(
        gradient,
        aspect="auto",
        cmap=mpl_cmap,
        norm=Normalize(cmap.vmin, cmap.vmax),
        extent=(cmap.vmin, cmap.vmax, 0.0, 1.0),
        interpolation="nearest",
    )
    cax.set_yticks([])
    cax.tick_params(labelsize=fs)
    cax.set_title(f"{_LEGEND_LABEL[layer]}\ncolormap {cmap.name}", fontsize=fs, loc="left")


def _scale_bar(
    fig: Figure, x_mm: float, y_mm: float, denominator: int, fs: float, page_mm: tuple[float, float]
) -> None:
    m_per_mm = denominator / 1000.0
    length_m = scale_bar_length_m(50.0 * m_per_mm)
    length_mm = length_m / m_per_mm
    w, h = page_mm
    ax = fig.add_axes((x_mm / w, y_mm / h, length_mm / w, 2.0 / h))
    ax.set_xlim(0.0, length_m)
    ax.set_ylim(0.0, 1.0)
    ax.set_axis_off()
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (i * length_m / 4, 0.0),
                length_m / 4,
                1.0,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.5,
            )
        )
    unit, div = ("km", 1000.0) if length_m >= 1000 else ("m", 1.0)
    for i in (0, 2, 4):
        ax.text(
            i * length_m / 4,
            1.6,
            f"{i * length_m / 4 / div:g}",
            ha="center",
            va="bottom",
            fontsize=fs,
        )
    ax.text(length_m, -0.8, f"{unit}   scale 1:{denominator:,}", ha="right", va="top", fontsize=fs)


def _north_arrow(
    fig: Figure, rect: tuple[float, float, float, float], north: NorthInfo, fs: float
) -> None:
    ax = fig.add_axes(rect)
    ax.set_xlim(-1.0, 1.0)
    ax.set_ylim(-1.0, 1.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(
        FancyArrow(
            0.0,
            -0.8,
            0.0,
            1.5,
            width=0.12,
            head_width=0.4,
            head_length=0.4,
            color="black",
            length_includes_head=True,
        )
    )
    ax.text(0.0, 0.95, "N", ha="center", va="bottom", fontsize=fs * 1.5, fontweight="bold")
    angle = math.radians(north.true_north_deg)
    dx, dy = 1.3 * math.sin(angle), 1.3 * math.cos(angle)
    ax.plot([0.45, 0.45 + dx], [-0.8, -0.8 + dy], color="#555555", linewidth=0.9, linestyle="--")
    ax.text(0.0, -1.0, "grid N (solid)\ntrue N (dashed)", fontsize=fs * 0.8, va="top", ha="center")


def _info_lines(data: ExportData, layout: PrintLayout, options: PrintOptions) -> list[str]:
    epsg = f" (EPSG:{data.frame.epsg})" if data.frame.epsg else ""
    when = data.reference_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    res = data.grid.spec.resolution_m
    attribution = textwrap.wrap(f"Attribution: {data.attribution}", 64, break_on_hyphens=False)
    return [
        f"Data time: {when}",
        f"Data version: {data.data_version}",
        f"Interpolation: {data.method} on a {res:g} m grid",
        f"CRS: {data.frame.name}{epsg}",
        f"Scale 1:{layout.scale_denominator:,} on {options.paper} {options.orientation} "
        f"at {options.dpi} dpi",
        f"Projection scale factor {layout.north.scale_factor:.5f} at the centre",
        layout.north.statement(),
        *attribution,
    ]


def _page(
    data: ExportData,
    layer: str,
    layers: tuple[str, ...],
    options: PrintOptions,
    layout: PrintLayout,
    box_mm: tuple[float, float, float, float],
    resampling: Resampling,
) -> Figure:
    w, h = options.size_mm
    fs = _font_pt(options)
    fig = Figure(figsize=(w / 25.4, h / 25.4), dpi=options.dpi)
    fig.text(
        _MARGIN_MM / w,
        1 - (_MARGIN_MM + 2.0) / h,
        options.title,
        fontsize=fs * 2.6,
        fontweight="bold",
        va="top",
        ha="left",
    )
    ax = fig.add_axes(
        (box_mm[0] / w, box_mm[1] / h, (box_mm[2] - box_mm[0]) / w, (box_mm[3] - box_mm[1]) / h)
    )
    minx, miny, maxx, maxy = layout.map_bounds_m
    cmap = (
        _draw_field(ax, data, layer, layout.scale_denominator, options.dpi, resampling)
        if layer != "none"
        else None
    )
    _draw_vectors(ax, data, layers)
    _draw_labels(ax, layout.labels)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    panel_y = _MARGIN_MM
    if cmap is not None:
        _legend(fig, (_MARGIN_MM / w, (panel_y + 18.0) / h, 0.3, 4.0 / h), cmap, layer, fs)
    _scale_bar(fig, _MARGIN_MM, panel_y + 4.0, layout.scale_denominator, fs, (w, h))
    _north_arrow(
        fig, ((_MARGIN_MM + 0.3 * w + 8.0) / w, panel_y / h, 22.0 / w, 26.0 / h), layout.north, fs
    )
    fig.text(
        (_MARGIN_MM + 0.3 * w + 34.0) / w,
        (panel_y + _PANEL_MM - 4.0) / h,
        "\n".join(_info_lines(data, layout, options)),
        fontsize=_INFO_PT,
        va="top",
        ha="left",
        linespacing=1.3,
    )
    return fig


def _font_pt(options: PrintOptions) -> float:
    w, h = options.size_mm
    return 7.0 * math.sqrt(min(w, h) / 210.0)


def write_pdf(
    data: ExportData,
    area_wgs84: BBox,
    layers: tuple[str, ...],
    options: PrintOptions,
    path: Path,
    resampling: Resampling = "bilinear",
) -> PrintLayout:
    """Write the map sheet of ``area_wgs84`` to ``path``; return its layout.

    One page per requested raster layer (``blight``, ``uncertainty``), each with the
    requested vector layers (``towers`` as outlines, ``zones`` as dashed outlines, so
    the field stays visible inside them) and their labels (tower names, zone ranks);
    one page of vectors when no raster layer is requested. ``resampling="nearest"``
    prints the field's cells as blocks instead of interpolating between them.
    """
    box_mm, bounds_m, denominator = _map_frame(
        options, area_local(data.grid, data.frame, area_wgs84)
    )
    centre = ((area_wgs84[0] + area_wgs84[2]) / 2.0, (area_wgs84[1] + area_wgs84[3]) / 2.0)
    pages = tuple(layer for layer in RASTER_LAYERS if layer in layers) or ("none",)
    pt = 72.0 / 25.4
    layout = PrintLayout(
        page_size_pt=options.size_pt,
        map_box_pt=(box_mm[0] * pt, box_mm[1] * pt, box_mm[2] * pt, box_mm[3] * pt),
        map_bounds_m=bounds_m,
        scale_denominator=denominator,
        north=north_info(data.frame, *centre),
        pages=pages,
        labels=_labels(data, layers, bounds_m, denominator, _font_pt(options)),
    )
    with PdfPages(
        path,
        metadata={
            "Title": options.title,
            "Author": data.attribution,
            "Subject": f"blightmap data version {data.data_version}",
            "Creator": "blightmap",
        },
    ) as pdf:
        for layer in pages:
            page = _page(data, layer, layers, options, layout, box_mm, resampling)
            pdf.savefig(page, dpi=options.dpi)
    return layout
