"""``blightmap export [--bbox W S E N] [--zooms MIN MAX] ... --out DIR``: an export bundle.

The same job as ``POST /exports``, run in the foreground with a progress bar, from the
store in ``--data``. ``blightmap export towers FILE`` stays a subcommand of its own.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from geo.export import FORMATS, LAYERS, PAPER_SIZES_MM, ExportSpec, PrintOptions
from service.settings import Settings

__all__ = ["add_export_arguments", "cmd_export"]


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The bundle options of ``blightmap export``; sets ``func`` to :func:`cmd_export`."""
    parser.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        metavar=("W", "S", "E", "N"),
        help="lon/lat degrees; the whole district when omitted",
    )
    parser.add_argument(
        "--zooms",
        type=int,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=[15, 19],
        help="WebMercatorQuad zooms of the tile packages (default 15 19)",
    )
    parser.add_argument("--layers", nargs="+", choices=LAYERS, default=list(LAYERS))
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--paper", choices=list(PAPER_SIZES_MM), default="A3")
    parser.add_argument("--orientation", choices=["portrait", "landscape"], default="landscape")
    parser.add_argument("--dpi", type=int, default=300, help="150 to 600 (default 300)")
    parser.add_argument("--title", default="Blight in the district")
    parser.add_argument("--out", type=Path, help="directory for the files (created)")
    parser.add_argument("--data", type=Path, help="data directory (env BLIGHTMAP_DATA_DIR)")
    parser.set_defaults(func=cmd_export)


def _spec(args: argparse.Namespace) -> ExportSpec:
    return ExportSpec(
        bbox_wgs84=tuple(args.bbox) if args.bbox else None,
        zooms=(args.zooms[0], args.zooms[1]),
        layers=tuple(args.layers),
        formats=tuple(args.formats),
        print_options=PrintOptions(args.paper, args.orientation, args.dpi, args.title),
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Export the current field, towers and zones as a bundle of files into ``--out``."""
    from geo.export.bundle import run_export
    from service.app import build_state, open_store
    from service.basemap import load_basemap
    from service.cli import console
    from service.exports import export_data
    from service.fields import compute_field

    if args.out is None:
        console.print("[red]error:[/] give --out DIR (or `blightmap export towers FILE`)")
        return 2
    spec = _spec(args)
    settings = Settings(**({"data_dir": args.data} if args.data is not None else {}))
    store = open_store(settings)
    try:
        layer = build_state(settings, store).towers.current()
        with console.status("interpolating the blight field"):
            basemap = load_basemap(settings.data_dir)
            data = export_data(compute_field(store, layer, settings), layer, basemap)
    finally:
        store.close()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("exporting", total=100)
        files = run_export(
            spec, data, args.out, lambda p: bar.update(task, completed=p), settings.export_max_tiles
        )
        bar.update(task, completed=100)
    for f in files:
        print(f"{f.format:8} {f.bytes:>12,} B  {args.out / f.name}")
    print(f"exported {len(files)} files of data version {data.data_version} to {args.out}")
    return 0
