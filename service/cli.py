"""The ``blightmap`` command: serve, import towers, ingest observations, manage keys."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from geo.observations import Source
from service import cli_forecast
from service.auth import Role, create_key
from service.errors import ApiError
from service.settings import Settings
from service.stream.watch import DEFAULT_URL

__all__ = ["main"]

console = Console(stderr=True)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "data", None) is not None:
        overrides["data_dir"] = args.data
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service with uvicorn (optionally seeding the demo district first)."""
    import uvicorn

    from service.app import create_app, open_store
    from service.demo import seed_demo
    from service.guard.connections import ConnectionGuard
    from service.guard.http import HttpLimits, fd_bounded, guarded_protocol
    from service.observability.logs import configure_logging
    from service.stream.router import STATE_KEY
    from service.stream.server import StreamServer

    configure_logging()
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        demo=args.demo or None,
        public_url=args.public_url,
        forwarded_allow_ips=_split(args.forwarded_allow_ips),
        http_max_connections=args.max_connections,
        http_max_connections_per_ip=args.max_connections_per_ip,
    )
    if args.basemap:
        _import_basemap(settings.data_dir, Path(args.basemap), args.basemap_crs)
    store = open_store(settings)
    if settings.demo:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("seeding the demo district", total=None)
            added = seed_demo(
                store,
                settings.demo_seed,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        console.print(f"demo: added {added[0]} towers and {added[1]} observations")
    app = create_app(settings, store)
    console.print("store: " + " ".join(store.describe().values()))
    guard = ConnectionGuard(
        fd_bounded(settings.http_max_connections), settings.http_max_connections_per_ip
    )
    limits = HttpLimits(
        settings.http_max_header_bytes,
        settings.http_max_headers,
        settings.http_header_timeout_s,
        settings.http_body_timeout_s,
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # JSON lines from configure_logging, uvicorn's records included
        access_log=False,  # the app writes its own access line, with the request id
        # X-Forwarded-For/-Proto only from the configured proxies (none by default)
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=list(settings.forwarded_allow_ips) or None,
        # header size and count, head and body timeouts, connection caps: service/guard/
        http=guarded_protocol(guard, limits),
        timeout_keep_alive=settings.http_keep_alive_s,
        ssl_certfile=args.ssl_certfile,  # TLS by uvicorn itself (README: TLS)
        ssl_keyfile=args.ssl_keyfile,
        ws_max_size=settings.ws_max_message_bytes,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        # per-client compression would undo "the same bytes to every client" and cost CPU
        # per socket on every fan-out; overlay messages are small JSON
        ws_per_message_deflate=False,
    )
    # closes the AR streams with 1001 before uvicorn's own shutdown (which would say 1012)
    StreamServer(config, getattr(app.state, STATE_KEY), freeze_heap=True).run()
    return 0


def _split(value: str | None) -> tuple[str, ...] | None:
    """A comma-separated option as a tuple (``None`` when not given)."""
    if value is None:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _import_basemap(data_dir: Path, source: Path, crs: str | None) -> None:
    from service.basemap import import_basemap

    with console.status("reading the basemap"):
        basemap = import_basemap(data_dir, source, crs)
    buildings, streets = len(basemap.of_kind("building")), len(basemap.of_kind("street"))
    console.print(f"basemap: {buildings} buildings and {streets} streets from {source.name}")


def cmd_basemap_import(args: argparse.Namespace) -> int:
    """Import buildings and streets (GeoPackage, GeoJSON or PMTiles, any CRS) as the
    basemap of the map and the print exports."""
    _import_basemap(_settings(args).data_dir, Path(args.file), args.crs)
    return 0


def cmd_import_towers(args: argparse.Namespace) -> int:
    """Import towers from a GeoJSON, GeoPackage, zipped Shapefile or CSV file."""
    from geo.errors import OutsideDistrict
    from geo.towers_io import read_towers
    from service.app import open_store
    from service.ingest import check_import_heights, check_import_span

    towers = read_towers(Path(args.file), crs=args.crs)
    settings = _settings(args)
    check_import_heights(settings, towers)
    store = open_store(settings)
    try:
        try:
            check_import_span(settings, store.list_towers(), towers)
        except OutsideDistrict as exc:
            console.print(f"[red]import refused[/]: the towers {exc.reason}")
            return 1
        created, replaced = store.upsert_towers(towers)
    finally:
        store.close()
    print(f"imported {len(towers)} towers: {created} new, {replaced} replaced")
    return 0


def cmd_export_towers(args: argparse.Namespace) -> int:
    """Export every tower as GeoJSON (RFC 7946) or GeoPackage, chosen by the file suffix."""
    from geo.towers_io import write_towers
    from service.app import open_store

    store = open_store(_settings(args))
    try:
        towers = store.list_towers()
    finally:
        store.close()
    write_towers(towers, Path(args.file))
    print(f"exported {len(towers)} towers to {args.file}")
    return 0


def _compute_field(args: argparse.Namespace) -> Any:
    from service.app import build_state, open_store
    from service.fields import compute_field

    settings = _settings(args)
    store = open_store(settings)
    try:
        state = build_state(settings, store)
        with console.status("interpolating the blight field"):
            return compute_field(store, state.towers.current(), settings)
    finally:
        store.close()


def cmd_field(args: argparse.Namespace) -> int:
    """Write the current blight field (intensity, standard error) as a COG."""
    from geo.cog import grid_to_cog

    snapshot = _compute_field(args)
    tags = {"data_version": str(snapshot.data_version), "method": snapshot.result.method}
    Path(args.out).write_bytes(grid_to_cog(snapshot.result.grid, tags))
    cv = snapshot.result.cv[snapshot.result.method]
    print(
        f"wrote {args.out}: {snapshot.result.method}, LOO RMSE {cv.rmse:.3f}, "
        f"data version {snapshot.data_version}"
    )
    return 0


def cmd_zones(args: argparse.Namespace) -> int:
    """Write the current remedy zones as GeoPackage (.gpkg) or GeoJSON (.geojson)."""
    import geopandas as gpd

    snapshot = _compute_field(args)
    features = [zone.to_feature() for zone in snapshot.zones]
    for feature in features:  # nested lists as JSON text, as GIS formats want
        props = feature["properties"]
        props["towers"] = json.dumps(props["towers"])
        props["tiers"] = json.dumps(props["tiers"])
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    driver = "GPKG" if args.out.endswith(".gpkg") else "GeoJSON"
    if frame.empty:
        console.print("no remedy zones: the field is below every threshold")
        return 0
    frame.to_file(args.out, driver=driver, layer="zones" if driver == "GPKG" else None)
    print(f"wrote {len(features)} remedy zones to {args.out}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest a GeoJSON FeatureCollection of observations, in batches, with a progress bar."""
    from service.app import build_state, open_store
    from service.body import parse_json
    from service.ingest import accept_observations
    from service.schemas.observations import ObservationCollectionIn

    settings = _settings(args)
    features = json.loads(Path(args.file).read_bytes()).get("features", [])
    store = open_store(settings)
    state = build_state(settings, store)
    new = known = 0
    try:
        with Progress(console=console) as bar:
            task = bar.add_task("ingesting", total=len(features))
            for start in range(0, len(features), args.batch):
                chunk = features[start : start + args.batch]
                body = json.dumps({"type": "FeatureCollection", "features": chunk}).encode()
                try:
                    parsed = parse_json(ObservationCollectionIn, body)
                    result = accept_observations(
                        state, [f.to_observation() for f in parsed.features]
                    )
                except ApiError as exc:
                    console.print(
                        f"[red]batch starting at feature {start} refused[/]: {exc.detail}"
                    )
                    return 1
                new, known = new + result.new, known + result.known
                bar.update(task, advance=len(chunk))
    finally:
        store.close()
    print(f"ingested {len(features)} features: {new} new, {known} already known")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create an API key; the key is printed on the last line, and only there."""
    from service.app import open_store

    role = Role(args.role)
    if role is not Role.SENSOR and (args.source or args.tower):
        console.print("[red]--source and --tower scope sensor keys only[/]")
        return 2
    store = open_store(_settings(args))
    try:
        key, record = create_key(
            store, role, args.label, sources=args.source or None, tower_ids=args.tower or None
        )
    finally:
        store.close()
    console.print(f"created key {record.key_id} for role {record.role}; it is shown once:")
    print(key)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the PostGIS store's missing schema migrations (``BLIGHTMAP_DATABASE_URL``)."""
    from service.store.postgis_connections import describe_url, upgrade_database
    from service.store.postgis_schema import SCHEMA_VERSION

    settings = _settings(args)
    if not settings.database_url:
        console.print("[red]no database[/]: set BLIGHTMAP_DATABASE_URL=postgresql://...")
        return 2
    applied = upgrade_database(settings.database_url, settings.database_schema)
    where = f"{describe_url(settings.database_url)} schema {settings.database_schema}"
    done = ", ".join(map(str, applied)) if applied else "none (already up to date)"
    print(f"{where}: schema version {SCHEMA_VERSION}; migrations applied now: {done}")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """Watch the live overlay stream around a point (reference client of /ws/overlays)."""
    import asyncio

    from service.stream.watch import WatchOptions, watch

    options = WatchOptions(
        lon=args.lon,
        lat=args.lat,
        range_m=args.range,
        url=args.url,
        key=args.key,
        layers=tuple(args.layers) if args.layers else None,
        convention=args.convention,
        height_m=args.height,
        once=args.once,
        connect_timeout_s=args.connect_timeout,
        output="json" if args.json else "auto",
    )
    try:
        return asyncio.run(watch(options))
    except KeyboardInterrupt:
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="blightmap", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def data_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, help="data directory (env BLIGHTMAP_DATA_DIR)")

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--demo", action="store_true", help="fill an empty store with the demo")
    serve.add_argument("--host", help="bind address (env BLIGHTMAP_HOST)")
    serve.add_argument("--port", type=int, help="port (env BLIGHTMAP_PORT)")
    serve.add_argument(
        "--public-url",
        help="base URL of every absolute link, e.g. https://blight.example.org "
        "(env BLIGHTMAP_PUBLIC_URL; default http://HOST:PORT)",
    )
    serve.add_argument("--ssl-certfile", help="PEM certificate (chain): serve HTTPS itself")
    serve.add_argument("--ssl-keyfile", help="PEM private key of --ssl-certfile")
    serve.add_argument(
        "--forwarded-allow-ips",
        help="comma-separated proxy IPs/networks whose X-Forwarded-* headers are trusted "
        "('*' = any; default: none)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        help="open connections, idle ones closed first (env BLIGHTMAP_HTTP_MAX_CONNECTIONS)",
    )
    serve.add_argument(
        "--max-connections-per-ip",
        type=int,
        help="connections per client IP, 0 = no cap (env BLIGHTMAP_HTTP_MAX_CONNECTIONS_PER_IP)",
    )
    serve.add_argument("--basemap", help="import this basemap file first (see `basemap import`)")
    serve.add_argument("--basemap-crs", help="CRS of a basemap file that declares none")
    data_arg(serve)
    serve.set_defaults(func=cmd_serve)

    imp = sub.add_parser("import", help="import data").add_subparsers(dest="what", required=True)
    towers = imp.add_parser("towers", help="import towers from a file")
    towers.add_argument("file")
    towers.add_argument("--crs", help="CRS of a CSV file's coordinates (default EPSG:4326)")
    data_arg(towers)
    towers.set_defaults(func=cmd_import_towers)

    basemap = sub.add_parser("basemap", help="the optional offline basemap")
    bm = basemap.add_subparsers(dest="what", required=True)
    bm_import = bm.add_parser(
        "import", help="buildings and streets from a .gpkg, .geojson or .pmtiles file (any CRS)"
    )
    bm_import.add_argument("file")
    bm_import.add_argument("--crs", help="CRS of a file that declares none (default EPSG:4326)")
    data_arg(bm_import)
    bm_import.set_defaults(func=cmd_basemap_import)

    export = sub.add_parser("export", help="export a bundle (maps, tiles, PDF) or the towers")
    from service.cli_export import add_export_arguments

    add_export_arguments(export)
    exp = export.add_subparsers(dest="what", required=False)
    towers_out = exp.add_parser("towers", help="export towers to .geojson or .gpkg")
    towers_out.add_argument("file")
    data_arg(towers_out)
    towers_out.set_defaults(func=cmd_export_towers)

    ingest = sub.add_parser("ingest", help="ingest observations from a GeoJSON file")
    ingest.add_argument("file")
    ingest.add_argument("--batch", type=int, default=1_000)
    data_arg(ingest)
    ingest.set_defaults(func=cmd_ingest)

    field = sub.add_parser("field", help="write the blight field as a Cloud-Optimized GeoTIFF")
    field.add_argument("--out", required=True, help="output .tif")
    data_arg(field)
    field.set_defaults(func=cmd_field)

    zones = sub.add_parser("zones", help="write the remedy zones (.gpkg or .geojson)")
    zones.add_argument("--out", required=True)
    data_arg(zones)
    zones.set_defaults(func=cmd_zones)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="what", required=True)
    create = keys.add_parser("create", help="create a key (printed on the last line)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--label", default="")
    create.add_argument(
        "--source",
        action="append",
        choices=[s.value for s in Source],
        help="sensor keys: the only source it may report (repeat for more)",
    )
    create.add_argument(
        "--tower",
        action="append",
        metavar="TOWER_ID",
        help="sensor keys: a tower it may report about (repeat for more)",
    )
    data_arg(create)
    create.set_defaults(func=cmd_keys_create)

    db = sub.add_parser("db", help="the PostGIS database").add_subparsers(
        dest="what", required=True
    )
    upgrade = db.add_parser("upgrade", help="apply missing schema migrations")
    data_arg(upgrade)
    upgrade.set_defaults(func=cmd_db_upgrade)

    watch = sub.add_parser("watch", help="print the live AR overlay stream around a point")
    watch.add_argument("--lon", type=float, required=True, help="viewer longitude, WGS84")
    watch.add_argument("--lat", type=float, required=True, help="viewer latitude, WGS84")
    watch.add_argument("--height", type=float, default=0.0, help="viewer height (ellipsoid), m")
    watch.add_argument("--range", type=float, default=200.0, help="view radius, m (1..2000)")
    watch.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the service (or its stream) URL; default {DEFAULT_URL}",
    )
    watch.add_argument("--key", help="API key (env BLIGHTMAP_KEY)")
    watch.add_argument(
        "--layers", nargs="+", choices=["towers", "tiers", "heat", "zones", "fronts"]
    )
    watch.add_argument("--convention", default="geopose", choices=["geopose", "arcore", "arkit"])
    watch.add_argument("--once", action="store_true", help="print the snapshot and exit")
    watch.add_argument(
        "--json", action="store_true", help="one JSON object per change (JSON Lines)"
    )
    watch.add_argument(
        "--connect-timeout", type=float, default=5.0, help="seconds to wait for the server"
    )
    watch.set_defaults(func=cmd_watch)
    cli_forecast.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``blightmap`` console command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # the CLI reports, it does not dump a traceback on users
        from geo.errors import GeoError
        from service.store.base import StoreError

        if isinstance(exc, GeoError | ApiError | OSError | StoreError):
            console.print(f"[red]error:[/] {exc}")
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
