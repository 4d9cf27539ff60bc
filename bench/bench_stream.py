"""Live overlay stream: fan-out latency, throughput against ``websockets.broadcast``, stalls.

One server process (uvicorn + the ``/ws/overlays`` router + a hub), and one client
process (this one) holding every WebSocket client in one asyncio loop: on this
2-core machine the server gets one core and the clients the other. Overlays carry
``t``, the server's ``time.monotonic()`` at publish (CLOCK_MONOTONIC is shared by
processes), so each client computes its latency from publish to receipt.

1. Latency: 1,000 clients at random places in a 1.5 km square, ranges 100-600 m;
   each round publishes one overlay at a random place; every client whose range
   holds it must receive it (checked), and its latency is recorded (p50/p99). Each
   round also publishes a heavier 8 kB overlay 3 km away, where nobody looks here.
2. Throughput: the same clients re-subscribe with a 2 km range (everyone sees
   everything), then the server publishes a burst of overlays, one publish per loop
   iteration: deliveries per second until the last client has the last one. The
   baseline: a bare ``websockets`` server calling ``websockets.broadcast()`` with a
   message of the same size to as many clients, measured by the same clients.
3. Stalls: 900 reading clients and 100 that never read (4 kB receive buffer), which
   watch the heavy overlay; same rounds as in 1. Server RSS before, during
   (maximum) and after, and the readers' p99 against run 1.

    .venv/bin/python bench/bench_stream.py [--clients 1000] [--stalled 100] [--rounds 100]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ar_assets.overlay import Anchor, Convention, Overlay, OverlayKind
from bench._server import free_port
from service.stream.geometry import EARTH_RADIUS_M, LocalFrame2D

ORIGIN = (5.1214, 52.0907)
FRAME = LocalFrame2D(*ORIGIN)
HEAVY_EAST_M = 3000.0
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M


def lonlat(east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m``, ``north_m`` metres from :data:`ORIGIN`."""
    k = _M_PER_DEG * math.cos(math.radians(ORIGIN[1]))
    return ORIGIN[0] + east_m / k, ORIGIN[1] + north_m / _M_PER_DEG


def serialize(item: Overlay, convention: Convention) -> dict[str, Any]:
    """A stand-in for ``ar_assets.overlays.overlay_message`` (same shape as the tests')."""
    a = item.anchor
    x, y, z, w = a.quaternion_enu
    return {
        "id": item.id,
        "version": item.version,
        "kind": item.kind.value,
        "layer": item.layer.value,
        "geopose": {
            "position": {"lon": a.lon, "lat": a.lat, "h": a.h_ellipsoid_m},
            "quaternion": {"x": x, "y": y, "z": z, "w": w},
        },
        "asset": item.asset,
        "properties": dict(item.properties),
    }


def make_overlay(spec: dict[str, Any], pad: str) -> Overlay:
    lon, lat = lonlat(spec["east"], spec["north"])
    return Overlay(
        id=spec["id"],
        kind=OverlayKind.TOWER_MARKER,
        version=spec["version"],
        anchor=Anchor(lon, lat, 45.0),
        asset="tower_marker.glb",
        properties={"t": time.monotonic(), "pad": pad[: spec.get("pad", 0)]},
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- servers (child processes) -----------------------------------------------------


def serve_hub(port: int, send_timeout_s: float) -> None:
    import uvicorn

    from service.auth import Role
    from service.stream.access import Identity
    from service.stream.config import StreamConfig
    from service.stream.hub import OverlayHub
    from service.stream.router import STATE_KEY, router
    from service.stream.runtime import StreamRuntime
    from service.stream.server import StreamServer

    # every client uses the one key "bench": no per-key session cap in a benchmark
    hub = OverlayHub(serialize, origin_lonlat=ORIGIN, max_sessions_per_key=1_000_000)
    config = StreamConfig(send_timeout_s=send_timeout_s, auth_timeout_s=60)
    runtime = StreamRuntime(hub, config, lambda key: Identity(key, Role.VIEWER))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield
        await runtime.aclose()

    app = FastAPI(lifespan=lifespan)
    setattr(app.state, STATE_KEY, runtime)
    app.include_router(router)
    pad = base64.b64encode(os.urandom(96_000)).decode()

    spent = [0.0]  # CPU seconds inside publish calls

    @app.websocket("/bench/control")
    async def control(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect):  # the run ends by stopping the server
            await _control(ws)

    async def _control(ws: WebSocket) -> None:
        while True:
            cmd = await ws.receive_json()
            if cmd["cmd"] == "publish":
                for batch in cmd["batches"]:
                    t0 = time.process_time()
                    hub.publish([make_overlay(s, pad) for s in batch], [])
                    spent[0] += time.process_time() - t0
                    if cmd.get("yield"):
                        await asyncio.sleep(0)
                await ws.send_json({"ok": True})
            elif cmd["cmd"] == "stats":
                s = hub.stats()
                await ws.send_json(
                    {
                        "sessions": s.sessions,
                        "pending_bytes": s.pending_bytes,
                        "closed": dict(runtime.closed_codes),
                        "rss_kib": rss_kib(os.getpid()),
                        "cpu_s": time.process_time(),
                        "publish_s": spent[0],
                    }
                )

    uv = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="error",
        ws_max_size=65536,
        backlog=4096,
        ws=_ws_impl(os.environ.get("BENCH_WS", "auto")),
        ws_per_message_deflate=False,
    )
    server = StreamServer(uv, runtime, freeze_heap=True)  # as `blightmap serve` runs it
    _run(server)


def _run(server: Any) -> None:
    """Run ``server``; with ``BENCH_PROFILE=FILE``, under cProfile (written on SIGTERM)."""
    if os.environ.get("BENCH_PROFILE"):  # cProfile of the server, for development
        import cProfile
        import signal

        profile = cProfile.Profile()

        def dump(signum: int, frame: object) -> None:
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        profile.enable()
    server.run()


def _ws_impl(name: str) -> Any:
    """uvicorn's WebSocket implementation: a name, or ``asgi-only`` for the plain sans-I/O
    protocol without the direct-frames extension (the ASGI send path alone)."""
    if name == "asgi-only":
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

        return WebSocketsSansIOProtocol
    return name


def serve_broadcast(port: int) -> None:
    from websockets import broadcast
    from websockets.asyncio.server import ServerConnection, serve

    from service.stream.protocol import encode_delta

    clients: set[ServerConnection] = set()
    spent = [0.0]  # CPU seconds inside broadcast() calls
    pad = base64.b64encode(os.urandom(96_000)).decode()

    async def handler(ws: ServerConnection) -> None:
        first = orjson.loads(await ws.recv())
        if first.get("type") != "control":
            clients.add(ws)
            await ws.wait_closed()
            clients.discard(ws)
            return
        async for data in ws:
            cmd = orjson.loads(data)
            if cmd.get("cmd") == "stats":
                await ws.send(json.dumps({"cpu_s": time.process_time(), "publish_s": spent[0]}))
                continue
            for batch in cmd["batches"]:  # the same bytes as the hub would send one client
                fragments = [
                    orjson.dumps(serialize(make_overlay(s, pad), Convention.GEOPOSE)) for s in batch
                ]
                message = encode_delta("k3Vq9xYw2LmN", 1, fragments, []).decode()
                t0 = time.process_time()
                broadcast(clients, message)
                spent[0] += time.process_time() - t0
                await asyncio.sleep(0)
            await ws.send(json.dumps({"ok": True}))

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", port, max_size=65536, compression=None, backlog=4096
        ):
            await asyncio.get_running_loop().create_future()

    asyncio.run(main())


# -- clients -----------------------------------------------------------------------


@dataclass
class Client:
    east: float
    north: float
    range_m: float
    ws: ClientConnection | None = None
    got: dict[str, float] = field(default_factory=dict)  # overlay id -> latency s
    last_at: float = 0.0

    def sees(self, east: float, north: float) -> bool:
        x0, y0 = FRAME.to_local(*lonlat(self.east, self.north))
        x1, y1 = FRAME.to_local(*lonlat(east, north))
        return math.hypot(x1 - x0, y1 - y0) <= self.range_m

    def subscribe(self, range_m: float | None = None) -> str:
        lon, lat = lonlat(self.east, self.north)
        return json.dumps(
            {
                "type": "subscribe",
                "range_m": range_m or self.range_m,
                "viewer": {
                    "position": {"lon": lon, "lat": lat, "h": 0.0},
                    "quaternion": {"x": 0, "y": 0, "z": 0, "w": 1},
                },
            }
        )


async def read_forever(c: Client) -> None:
    assert c.ws is not None
    try:
        async for data in c.ws:
            now = time.monotonic()
            m = orjson.loads(data)
            for o in m.get("upserts", ()):
                t = o["properties"].get("t")
                if t is not None:
                    c.got[o["id"]] = now - t
                    c.last_at = now
    except Exception:  # a closed client just stops
        return


async def open_clients(url: str, clients: list[Client], stalled: bool = False) -> None:
    sem = asyncio.Semaphore(100)

    async def one(c: Client) -> None:
        async with sem:
            sock = None
            if stalled:
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
                sock.setblocking(False)
            c.ws = await connect(
                url,
                sock=sock,
                compression=None,
                max_queue=1 if stalled else 64,
                additional_headers={"Authorization": "Bearer bench"},
                open_timeout=60,
                ping_interval=None,
            )

    await asyncio.gather(*(one(c) for c in clients))


async def control(url: str, first: dict[str, Any] | None = None) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=None)
    if first is not None:
        await ws.send(json.dumps(first))
    return ws


async def call(ctl: ClientConnection, cmd: dict[str, Any]) -> dict[str, Any]:
    await ctl.send(json.dumps(cmd))
    answer: dict[str, Any] = json.loads(await ctl.recv())
    return answer


def place(rng: random.Random, n: int) -> list[Client]:
    return [
        Client(rng.uniform(-750, 750), rng.uniform(-750, 750), rng.uniform(100, 600))
        for _ in range(n)
    ]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def latency_rounds(
    ctl: ClientConnection,
    readers: list[Client],
    rounds: int,
    rng: random.Random,
    tag: str,
    stats: list[dict[str, Any]] | None = None,
) -> tuple[list[float], int, int]:
    expected = 0
    spots: dict[str, tuple[float, float]] = {}
    for r in range(rounds):
        east, north = rng.uniform(-750, 750), rng.uniform(-750, 750)
        spots[f"{tag}-{r}"] = (east, north)
        heavy = {"id": "heavy", "east": HEAVY_EAST_M, "north": 0.0, "version": r + 1, "pad": 8_000}
        spot = {"id": f"{tag}-{r}", "east": east, "north": north, "version": 1}
        await call(ctl, {"cmd": "publish", "batches": [[heavy], [spot]]})
        expected += sum(1 for c in readers if c.sees(east, north))
        await asyncio.sleep(0.15)
        if stats is not None:
            stats.append(await call(ctl, {"cmd": "stats"}))
    await asyncio.sleep(1.0)
    lat = [v for c in readers for k, v in c.got.items() if k.startswith(f"{tag}-")]
    worst: dict[str, float] = {}
    for c in readers:
        for k, v in c.got.items():
            if k in spots:
                worst[k] = max(worst.get(k, 0.0), v)
    slowest = sorted(worst.items(), key=lambda kv: -kv[1])[:3]
    print(f"{tag}: slowest rounds " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in slowest))
    wrong = sum(1 for c in readers for k in c.got if k in spots and not c.sees(*spots[k]))
    return lat, expected, wrong


@dataclass
class Burst:
    """A burst's deliveries per second of wall time, and per second of the server's CPU."""

    per_s: float
    per_cpu_s: float


async def burst(ctl: ClientConnection, clients: list[Client], n: int, tag: str) -> Burst:
    """Deliveries per second of ``n`` one-overlay publishes to every client.

    Also per second of the server process's CPU time over the same span: on a shared
    2-core machine the wall-clock rate moves with whatever else runs, the CPU cost
    per delivery much less.
    """
    batches = [[{"id": f"{tag}-{i}", "east": 0.0, "north": 0.0, "version": 1}] for i in range(n)]
    first = await call(ctl, {"cmd": "stats"})
    t0 = time.monotonic()
    await call(ctl, {"cmd": "publish", "batches": batches, "yield": True})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = sum(1 for c in clients if sum(1 for k in c.got if k.startswith(f"{tag}-")) >= n)
        if done == len(clients):
            break
        await asyncio.sleep(0.05)
    last = max(c.last_at for c in clients)
    then = await call(ctl, {"cmd": "stats"})
    cpu = then["cpu_s"] - first["cpu_s"]
    in_publish = then["publish_s"] - first["publish_s"]
    print(f"  {tag}: server CPU {cpu:.2f} s, of which in publish/broadcast {in_publish:.2f} s")
    deliveries = n * len(clients)
    return Burst(deliveries / (last - t0), deliveries / cpu)


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """No garbage collection in the clients' process while it measures: a full collection
    over 1,000 connections and their received-message tables pauses it for 100 ms or
    more, which would count as the server's latency. (The server collects as usual.)"""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def best_burst(
    ctl: ClientConnection, clients: list[Client], args: argparse.Namespace
) -> Burst:
    """The best of ``--bursts`` bursts (each of ``--burst`` publishes), by wall-clock rate
    and by CPU separately: on a shared machine the slower ones measure the neighbours."""
    with client_gc_paused():
        runs = [await burst(ctl, clients, args.burst, f"burst{i}") for i in range(args.bursts)]
    return Burst(max(b.per_s for b in runs), max(b.per_cpu_s for b in runs))


def start(kind: str, port: int, send_timeout_s: float = 30.0) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--port",
        str(port),
        "--send-timeout",
        str(send_timeout_s),
    ]
    proc = subprocess.Popen(args)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    raise RuntimeError(f"{kind} server did not start")


async def run_hub(args: argparse.Namespace, stalled: int) -> dict[str, Any]:
    rng = random.Random(7)
    port = free_port()
    proc = start("hub", port)
    url = f"ws://127.0.0.1:{port}/ws/overlays"
    try:
        readers = place(rng, args.clients - stalled)
        idle = [Client(HEAVY_EAST_M + rng.uniform(-20, 20), 0.0, 50.0) for _ in range(stalled)]
        await open_clients(url, readers)
        await open_clients(url, idle, stalled=True)
        tasks = [asyncio.create_task(read_forever(c)) for c in readers]
        for c in readers + idle:
            assert c.ws is not None
            await c.ws.send(c.subscribe())
        ctl = await control(f"ws://127.0.0.1:{port}/bench/control")
        await asyncio.sleep(2.0)
        before = await call(ctl, {"cmd": "stats"})
        samples: list[dict[str, Any]] = []
        tag = f"lat{stalled}"
        with client_gc_paused():
            lat, expected, wrong = await latency_rounds(
                ctl, readers, args.rounds, rng, tag, samples
            )
        after = await call(ctl, {"cmd": "stats"})
        result: dict[str, Any] = {
            "lat": lat,
            "expected": expected,
            "received": len(lat),
            "wrong": wrong,
            "rss_before": before["rss_kib"],
            "rss_after": after["rss_kib"],
            "rss_max": max(s["rss_kib"] for s in samples),
            "rss_quarters": [samples[len(samples) * q // 4 - 1]["rss_kib"] for q in (1, 2, 3, 4)],
            "closed": after["closed"],
            "sessions": after["sessions"],
        }
        if stalled == 0:
            for c in readers:
                assert c.ws is not None
                await c.ws.send(c.subscribe(2000.0))
            await asyncio.sleep(2.0)
            result["throughput"] = await best_burst(ctl, readers, args)
        for t in tasks:
            t.cancel()
        return result
    finally:
        proc.terminate()
        proc.wait(20)


async def run_broadcast(args: argparse.Namespace) -> Burst:
    rng = random.Random(7)
    port = free_port()
    proc = start("broadcast", port)
    url = f"ws://127.0.0.1:{port}/"
    try:
        clients = place(rng, args.clients)
        await open_clients(url, clients)
        tasks = [asyncio.create_task(read_forever(c)) for c in clients]
        for c in clients:
            assert c.ws is not None
            await c.ws.send(c.subscribe())
        ctl = await control(url, {"type": "control"})
        await asyncio.sleep(2.0)
        rate = await best_burst(ctl, clients, args)
        for t in tasks:
            t.cancel()
        return rate
    finally:
        proc.terminate()
        proc.wait(20)


async def bench(args: argparse.Namespace) -> None:
    plain = await run_hub(args, 0)
    base = await run_broadcast(args)
    stall = await run_hub(args, args.stalled)
    p50, p99 = pct(plain["lat"], 0.5) * 1e3, pct(plain["lat"], 0.99) * 1e3
    s50, s99 = pct(stall["lat"], 0.5) * 1e3, pct(stall["lat"], 0.99) * 1e3
    print(
        f"clients {args.clients}, rounds {args.rounds}, "
        f"best of {args.bursts} bursts of {args.burst}"
    )
    print(
        f"latency, no stall: received {plain['received']}/{plain['expected']} "
        f"(clients in range; {plain['wrong']} out of range), p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    ours: Burst = plain["throughput"]
    print(
        f"throughput: hub+adapter {ours.per_s:,.0f} deliveries/s, "
        f"websockets.broadcast() {base.per_s:,.0f}/s, ratio {ours.per_s / base.per_s:.2f}x"
    )
    print(
        f"per server CPU second: hub+adapter {ours.per_cpu_s:,.0f} deliveries, "
        f"websockets.broadcast() {base.per_cpu_s:,.0f}, "
        f"ratio {ours.per_cpu_s / base.per_cpu_s:.2f}x"
    )
    print(
        f"with {args.stalled} stalled: {args.clients - args.stalled} readers received "
        f"{stall['received']}/{stall['expected']}, p50 {s50:.1f} ms, p99 {s99:.1f} ms "
        f"({s99 / p99:.2f}x of no stall)"
    )
    print(
        f"server RSS: before {stall['rss_before'] / 1024:.1f} MiB, max during "
        f"{stall['rss_max'] / 1024:.1f} MiB, after {stall['rss_after'] / 1024:.1f} MiB "
        f"(no-stall run: {plain['rss_before'] / 1024:.1f} -> {plain['rss_after'] / 1024:.1f})"
    )
    quarters = ", ".join(f"{kib / 1024:.1f}" for kib in stall["rss_quarters"])
    print(f"server RSS with stalls after each quarter of the rounds: {quarters} MiB")
    print(f"closed by the server: {stall['closed']}, sessions left {stall['sessions']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--stalled", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=3, help="best of this many bursts")
    parser.add_argument("--serve", choices=["hub", "broadcast"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--send-timeout", type=float, default=30.0)
    args = parser.parse_args()
    if args.serve == "hub":
        serve_hub(args.port, args.send_timeout)
    elif args.serve == "broadcast":
        serve_broadcast(args.port)
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
