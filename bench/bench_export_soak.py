"""Soak: many A2 600-dpi print exports in a row; the service's resident size after each.

A real ``blightmap serve --demo`` on loopback (the demo district), one planner key; the
client posts ``POST /exports`` for a PDF of the whole district (A2 landscape, 600 dpi:
about 140 million pixels a page), waits for the job to finish, then reads the server
process's ``VmRSS`` from ``/proc`` (the print's child process has exited by then). The
goal: the RSS after the last export within 10 % of the RSS after the first.

``--source DIR`` runs the server from another checkout of blightmap (the baseline: e.g.
``git archive 70cb4a4 | tar -x -C /tmp/before``, the commit before prints were rendered
in a child process), with this tree's client.

    .venv/bin/python bench/bench_export_soak.py [--exports 20] [--source DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._server import free_port

ROOT = Path(__file__).resolve().parents[1]
REQUEST = {
    "formats": ["pdf"],
    "layers": ["blight", "towers", "zones"],
    "print": {"paper": "A2", "orientation": "landscape", "dpi": 600, "title": "Soak"},
}


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def _cli(source: Path, *args: str, **popen: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    cmd = [sys.executable, "-m", "service.cli", *args]
    return subprocess.Popen(cmd, cwd=source, env=env, **popen)  # type: ignore[call-overload]


def planner_key(source: Path, data: Path) -> str:
    proc = _cli(
        source,
        "keys",
        "create",
        "--role",
        "planner",
        "--data",
        str(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = proc.communicate(timeout=60)
    return out.decode().strip().splitlines()[-1]


def start_server(source: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = _cli(
        source,
        "serve",
        "--demo",
        "--data",
        str(data),
        "--port",
        str(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def export_once(client: httpx.Client, url: str, key: str) -> float:
    """Post one export and wait for it; seconds it took."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}"}
    r = client.post(url + "/exports", json=REQUEST, headers=headers)
    r.raise_for_status()
    job_url = r.headers["location"].replace(r.headers["location"].split("/exports")[0], url)
    while True:
        job = client.get(job_url, headers=headers).json()
        if job["status"] == "done":
            return time.perf_counter() - started
        if job["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"export {job['status']}: {job.get('error')}")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=20)
    parser.add_argument("--source", type=Path, default=ROOT, help="blightmap tree to serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        data = Path(tmp) / "data"
        key = planner_key(args.source, data)
        proc, url = start_server(args.source, data)
        try:
            with httpx.Client(timeout=60) as client:
                client.get(url + "/fields/blight").raise_for_status()
                idle = rss_mib(proc.pid)
                print(f"server {args.source}: idle with the field computed: {idle:,.0f} MiB")
                print("export  seconds  RSS MiB  vs first")
                first = None
                for i in range(1, args.exports + 1):
                    seconds = export_once(client, url, key)
                    rss = rss_mib(proc.pid)
                    first = first or rss
                    print(
                        f"{i:6d}  {seconds:7.1f}  {rss:7,.0f}  {rss / first - 1:+7.1%}", flush=True
                    )
                print(
                    f"growth from the first to the last export: {rss / first - 1:+.1%} "
                    f"(goal: within 10 %)"
                )
        finally:
            proc.terminate()
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
