"""JSON responses serialized once with orjson (NaN is impossible: orjson refuses it)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["json_response"]


def json_response(
    body: Any,
    status: int = 200,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    """Serialize ``body`` with orjson into a response of ``media_type``."""
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)
