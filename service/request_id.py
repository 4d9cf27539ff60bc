"""The request id: taken from ``X-Request-ID`` when well-formed, otherwise generated.

The id of the request being handled is kept in a context variable, so log records and
problem documents can carry it without being handed it.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

__all__ = ["HEADER", "current_request_id", "request_id_var", "valid_or_new"]

HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
request_id_var: ContextVar[str | None] = ContextVar("blightmap_request_id", default=None)


def valid_or_new(raw: bytes | None) -> str:
    """``raw`` when it is 1-128 characters of ``A-Za-z0-9._:-`` (not starting with a
    punctuation mark), otherwise a new random id (32 hex digits).

    A client's id is echoed into headers, logs and bodies, so anything else (control
    characters, quotes, very long values) is replaced rather than repaired.
    """
    if raw is not None:
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _WELL_FORMED.fullmatch(text):
            return text
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request this code runs for, if any."""
    return request_id_var.get()
