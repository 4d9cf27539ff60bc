"""``/healthz`` latency while one key floods ``/ws/overlays`` with ``move`` at 4,000/s.

A live ``blightmap serve`` on loopback with the demo district. The baseline: ``/healthz``
probed back to back with nobody else connected. Then, against the same server, a
flooding process with one viewer key sends ``move`` messages paced at ``--rate`` per
second (default 4,000) for ``--seconds``; when the server closes a connection (4029,
over ``ws_max_messages_per_s``), it reconnects at once and goes on, as an attacker
would, keeping up to ``--connections`` sockets; the probes run meanwhile. The figures
are the probes' latency percentiles (ms), side by side, and what the flood achieved.
``--unlimited`` runs the flood against a server with the message rate limits off (the
behaviour before issue 11), with a probe timeout of 5 s.

    .venv/bin/python bench/bench_flood.py [--seconds 10] [--rate 4000] [--unlimited]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import Server
from service.app import open_store
from service.auth import Role, create_key
from service.demo import seed_demo
from service.settings import Settings

CENTRE = (5.1214, 52.0907)


def _viewer(east: float) -> dict[str, Any]:
    lon, lat = CENTRE
    return {
        "position": {"lon": lon + east * 1.5e-5, "lat": lat, "h": 47.0},
        "quaternion": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }


async def _flood(url: str, key: str, rate: float, seconds: float, connections: int) -> Any:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    headers = {"Authorization": f"Bearer {key}"}
    # the widest view, and moves that jump 25 m each (across the district and back):
    # every move changes what is near the viewer, so the server computes and sends deltas
    subscribe = json.dumps({"type": "subscribe", "viewer": _viewer(0), "range_m": 2000})
    moves = [json.dumps({"type": "move", "viewer": _viewer(25.0 * i - 500)}) for i in range(40)]
    per_conn = rate / connections
    sent, codes = Counter[str](), Counter[int]()
    deadline = time.monotonic() + seconds

    async def one() -> None:
        while time.monotonic() < deadline:
            try:
                async with connect(url, additional_headers=headers, max_queue=None) as ws:
                    await ws.send(subscribe)
                    tick, i = time.monotonic(), 0
                    while time.monotonic() < deadline:
                        for _ in range(max(1, int(per_conn / 100))):  # bursts every 10 ms
                            await ws.send(moves[i % 40])
                            i += 1
                            sent["move"] += 1
                        tick += 0.01
                        await asyncio.sleep(max(0.0, tick - time.monotonic()))
            except ConnectionClosed as closed:
                codes[closed.rcvd.code if closed.rcvd else 1006] += 1
            except (InvalidStatus, OSError):
                codes[0] += 1
                await asyncio.sleep(0.01)
            sent["connections"] += 1

    await asyncio.gather(*(one() for _ in range(connections)))
    return dict(sent), dict(codes)


def _flood_process(url: str, key: str, rate: float, seconds: float, conns: int, out: Any) -> None:
    out.put(asyncio.run(_flood(url, key, rate, seconds, conns)))


def _probe(url: str, seconds: float, timeout_s: float) -> tuple[list[float], int]:
    """Back-to-back ``/healthz`` latencies (ms) for ``seconds``, and the failures."""
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=timeout_s) as http:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                ok = http.get(url + "/healthz").status_code == 200
            except httpx.TransportError:
                ok = False
            latencies.append((time.perf_counter() - t0) * 1000)
            failures += not ok
            time.sleep(0.005)
    return latencies, failures


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _row(name: str, latencies: list[float], failures: int) -> str:
    return (
        f"{name:<22} probes {len(latencies):>5}  p50 {_pct(latencies, 50):7.1f} ms  "
        f"p99 {_pct(latencies, 99):7.1f} ms  max {max(latencies):7.1f} ms  failed {failures}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=4000.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--unlimited", action="store_true", help="message rate limit off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = open_store(settings)
        seed_demo(store, 7)
        key = create_key(store, Role.VIEWER)[0]
        store.close()
        unlimited = ("MESSAGES_PER_S", "MESSAGES_PER_KEY_PER_S", "SUBSCRIBES_PER_S")
        env = {f"BLIGHTMAP_WS_MAX_{n}": "0" for n in unlimited} if args.unlimited else {}
        with Server(Path(tmp), env) as server:
            time.sleep(2.0)  # the first field computation after start
            baseline = _probe(server.url, args.seconds, 5.0)
            out: Any = multiprocessing.get_context("spawn").Queue()
            ws_url = server.url.replace("http://", "ws://") + "/ws/overlays"
            flood = multiprocessing.get_context("spawn").Process(
                target=_flood_process,
                args=(ws_url, key, args.rate, args.seconds, args.connections, out),
            )
            flood.start()
            time.sleep(1.0)  # the flood is under way
            during = _probe(server.url, args.seconds - 1.0, 5.0)
            sent, codes = out.get(timeout=args.seconds + 60)
            flood.join()
    print(f"flood: {args.rate:,.0f} move/s paced from one key over {args.connections} sockets")
    moves = sent.get("move", 0)
    print(f"       sent {moves:,} moves ({moves / args.seconds:,.0f}/s)")
    print(f"       connections {sent.get('connections', 0)}, close codes {codes}")
    print(_row("baseline (no flood)", *baseline))
    print(_row("during the flood", *during))
    ratio = _pct(during[0], 99) / _pct(baseline[0], 99)
    print(f"p99 ratio flood/baseline: {ratio:.2f}x (goal: p99 during the flood < 100 ms)")


if __name__ == "__main__":
    main()
