"""``blightmap serve --ssl-certfile/--ssl-keyfile``: HTTPS from uvicorn itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.live


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_serves_https_with_its_own_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=x"]
    make += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        ["openssl", *make],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    cmd = [sys.executable, "-m", "service.cli", "serve", "--data", str(tmp_path / "data")]
    cmd += ["--port", str(port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    cmd += ["--public-url", f"https://127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/", verify=str(cert), timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200
        assert answer.json()["links"][0]["href"].startswith(f"https://127.0.0.1:{port}/")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)  # no plain HTTP beside it
    finally:
        proc.terminate()
        proc.wait(10)
