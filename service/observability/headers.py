"""Security headers: one table of what every response carries, and what pages carry.

API answers (JSON, images, files) forbid everything a browser could do with them as a
document (``default-src 'none'``) and being framed. The two browser pages, ``/map`` and
``/ar-preview``, load scripts, styles, tiles and workers from this service only and
open the overlay WebSocket on it; the AR preview's inline import map is allowed by its
hash, not by ``'unsafe-inline'``. ``/docs`` and ``/redoc`` keep their own policy.
Responses that show a secret (a new API key) are never stored by caches.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

__all__ = ["API_CSP", "NO_STORE_PREFIXES", "PAGE_CSP", "security_headers"]

_STATIC = Path(__file__).resolve().parents[1] / "static"
_IMPORTMAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


def _inline_script_hashes(*pages: str) -> str:
    """CSP ``'sha256-…'`` sources of the inline import maps of ``pages`` (static files)."""
    sources = []
    for page in pages:
        path = _STATIC / page
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        for script in _IMPORTMAP.findall(text):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            sources.append(f"'sha256-{digest}'")
    return " ".join(sources)


API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
"""Policy of every answer that is not a page."""

PAGE_CSP = (
    "default-src 'self'; "
    f"script-src 'self' {_inline_script_hashes('ar-preview.html')}; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "worker-src 'self' blob:; "
    "child-src 'self' blob:; "
    "connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
"""Policy of ``/map`` and ``/ar-preview``: everything from this service, nothing else."""

_PAGES = ("/map", "/ar-preview", "/vendor")  # /vendor: module workers get their own CSP
_OWN_POLICY = ("/docs", "/redoc")
NO_STORE_PREFIXES = ("/keys",)
"""Paths whose answers may show a key: ``Cache-Control: no-store``."""

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers added to the answer for ``path`` (raw ASGI header pairs)."""
    headers = list(_COMMON)
    if _under(path, _PAGES):
        headers += [
            (b"content-security-policy", PAGE_CSP.encode()),
            (b"x-frame-options", b"SAMEORIGIN"),
        ]
    elif not _under(path, _OWN_POLICY):
        headers += [(b"content-security-policy", API_CSP.encode()), (b"x-frame-options", b"DENY")]
    if _under(path, NO_STORE_PREFIXES):
        headers.append((b"cache-control", b"no-store"))
    return headers
