"""HTTP-layer limits of ``blightmap serve`` against a real server on loopback (issue 11 #2).

Before: an 80 MB header line held every client for 20 s, idle connections piled up
until the file descriptors ran out and nothing was logged. Each test starts a server
with small limits (environment variables), attacks it with raw sockets and checks
that it answers, refuses or closes as the limits say, that another client is still
served, and that it was logged.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.live


def _connect(port: int, source_ip: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source_ip, 0))
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (or resets) the connection."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def _start(tmp: Path, **env: object) -> LiveServer:
    """``blightmap serve`` with ``BLIGHTMAP_*`` overrides."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(f"BLIGHTMAP_{name.upper()}", str(value))
        server = LiveServer(tmp, log=tmp.parent / f"{tmp.name}.log")
        server.start()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Small head, header-count and timeout limits."""
    live = _start(
        tmp_path_factory.mktemp("limits"),
        http_max_headers=20,
        http_header_timeout_s=1,
        http_body_timeout_s=1,
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A cap of 50 connections, 20 per client IP."""
    live = _start(
        tmp_path_factory.mktemp("caps"), http_max_connections=50, http_max_connections_per_ip=20
    )
    yield live
    live.stop()


def _logged(server: LiveServer, text: str) -> bool:
    """Whether the server's log (JSON lines) shows ``text`` (waiting up to 5 s)."""
    assert server.log is not None
    for _ in range(50):
        if text in server.log.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def test_an_80_mb_header_line_gets_431_and_blocks_nobody(server: LiveServer) -> None:
    sock = _connect(server.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    line, sent = b"a" * 65536, 0
    try:
        while sent < 80 * 1024 * 1024:
            sock.sendall(line)
            sent += len(line)
    except OSError:  # the server closed the connection: the rest is never read
        pass
    assert sent < 8 * 1024 * 1024, "the server kept reading an 80 MB header"
    response = _read_all(sock)
    sock.close()
    assert response == b"" or _status(response) == 431, response[:200]
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    assert _logged(server, "headers_too_large")


def test_a_head_under_the_limit_and_a_large_body_still_pass(server: LiveServer) -> None:
    headers = {f"x-h{i}": "v" * 800 for i in range(15)}  # 12 KB of headers, under 16 KiB
    answer = httpx.get(server.url + "/healthz", headers=headers, timeout=5)
    assert answer.status_code == 200
    # a 1 MB body arrives in reads much larger than the head limit: not a "large head"
    big = httpx.post(
        server.url + "/observations", content=b"{" + b" " * 1_000_000 + b"}", timeout=10
    )
    assert big.status_code == 401


def test_pipelined_requests_in_one_large_read_are_not_one_large_head(server: LiveServer) -> None:
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 60 + b"\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    burst = one * 199 + last  # about 20 KB at once, each head about 100 bytes
    assert len(burst) > 16 * 1024
    sock = _connect(server.port)
    sock.sendall(burst)
    answers = _read_all(sock)
    sock.close()
    assert answers.count(b"HTTP/1.1 200 ") == 200
    assert b" 431 " not in answers


def test_too_many_header_fields_get_431(server: LiveServer) -> None:
    sock = _connect(server.port)
    fields = b"".join(b"x-h%d: v\r\n" % i for i in range(30))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert _status(_read_all(sock)) == 431
    sock.close()


def test_a_slow_head_gets_408_though_it_keeps_sending(server: LiveServer) -> None:
    sock = _connect(server.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    response = b""
    for _ in range(40):  # a byte every 0.25 s: a keep-alive timer would be reset by each
        try:
            sock.sendall(b"X")
        except OSError:
            break
        time.sleep(0.25)
        sock.setblocking(False)
        try:
            response += sock.recv(4096)
        except BlockingIOError:
            pass
        except OSError:
            break
        finally:
            sock.setblocking(True)
        if response:
            break
    sock.settimeout(5)
    response += _read_all(sock)
    sock.close()
    assert _status(response) == 408
    assert _logged(server, "header_timeout")


def test_a_slow_body_gets_408(server: LiveServer) -> None:
    key = _make_key(server.data_dir, "sensor")
    sock = _connect(server.port)
    sock.sendall(
        b"POST /observations HTTP/1.1\r\nHost: x\r\nContent-Type: application/geo+json\r\n"
        b"Authorization: Bearer " + key.encode() + b'\r\nContent-Length: 1000\r\n\r\n{"type"'
    )
    assert _status(_read_all(sock)) == 408
    sock.close()


def _make_key(data_dir: Path, role: str) -> str:
    command = [sys.executable, "-m", "service.cli", "keys", "create", "--role", role]
    out = subprocess.run(
        [*command, "--data", str(data_dir)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def test_idle_connections_time_out(server: LiveServer) -> None:
    idle = [_connect(server.port) for _ in range(20)]
    for sock in idle:  # each is closed by the server, without an answer
        assert _read_all(sock) == b""
        sock.close()


def test_an_idle_flood_does_not_lock_out_a_new_client(capped: LiveServer) -> None:
    # six times the cap, all idle, from 15 addresses (20 each, the per-IP cap)
    flood = [_connect(capped.port, f"127.0.1.{1 + i // 20}") for i in range(300)]
    try:
        answer = httpx.get(capped.url + "/healthz", timeout=5)
        assert answer.status_code == 200
        closed = 0
        for sock in flood[:200]:  # the oldest were closed to make room for newer ones
            sock.settimeout(5)
            closed += _read_all(sock) == b""
        assert closed == 200
    finally:
        for sock in flood:
            sock.close()
    assert _logged(capped, "evicted_idle")


def test_one_ip_cannot_take_every_slot(capped: LiveServer) -> None:
    flood = [_connect(capped.port, "127.0.2.1") for _ in range(40)]
    try:
        flood[-1].settimeout(5)
        refused = _read_all(flood[-1])
        assert _status(refused) == 503 and b"retry-after: 1" in refused.lower()
        other = _connect(capped.port, source_ip="127.0.2.2")  # another client IP
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _status(_read_all(other)) == 200
        other.close()
    finally:
        for sock in flood:
            sock.close()
    assert _logged(capped, "refused_per_ip")
