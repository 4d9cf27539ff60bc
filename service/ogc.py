"""OGC API - Features building blocks: query parameters, links and documents.

Query parameters are parsed strictly: an unknown parameter or an invalid value is a
400 naming the parameter, as OGC API - Features Part 1 (``/req/core/query-param-*``)
asks. Links are absolute, built from the configured public URL
(``Settings.base_url``), never from the request's ``Host`` header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from geo.observations import parse_utc
from service.errors import BadRequest, FieldError

__all__ = [
    "CRS84",
    "GEOJSON",
    "JSON",
    "OPENAPI_JSON",
    "absolute",
    "check_known_params",
    "link",
    "page_links",
    "parse_bbox",
    "parse_datetime",
    "parse_int",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bad_param(name: str, reason: str) -> BadRequest:
    """A 400 about one query parameter."""
    return BadRequest(f"query parameter '{name}': {reason}", [FieldError(name, reason)])


def check_known_params(request: Request, allowed: Iterable[str]) -> None:
    """Refuse unknown or repeated query parameters (400)."""
    allowed_set = set(allowed)
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in allowed_set:
            known = ", ".join(sorted(allowed_set))
            raise bad_param(name[:40], f"unknown parameter; known parameters are: {known}")
        if name in seen:
            raise bad_param(name, "given more than once")
        seen.add(name)


def parse_int(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer parameter within ``[minimum, maximum]`` (400 otherwise, never clamped)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,12}", raw.strip()):
        raise bad_param(name, "must be a whole number")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise bad_param(name, f"must be within [{minimum}, {maximum}]")
    return value


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights, which are ignored)."""
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise bad_param("bbox", "must have 4 numbers (or 6 with heights), comma-separated")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise bad_param("bbox", "must contain only numbers") from None
    if not all(n == n and abs(n) != float("inf") for n in numbers):
        raise bad_param("bbox", "numbers must be finite")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    if miny > maxy:
        raise bad_param("bbox", "the lower corner's second coordinate exceeds the upper corner's")
    return (minx, miny, maxx, maxy)


def _instant(text: str, name: str, end: bool) -> datetime:
    if _DATE_ONLY.match(text):
        try:
            day = datetime.fromisoformat(text).date()
        except ValueError:
            raise bad_param(name, "is not a valid date") from None
        start = datetime.combine(day, time(0), tzinfo=UTC)
        return start + timedelta(days=1, microseconds=-1) if end else start
    try:
        return parse_utc(text)
    except ValueError:
        raise bad_param(name, "must be an RFC 3339 date-time with a timezone") from None


def parse_datetime(raw: str | None) -> tuple[datetime | None, datetime | None]:
    """An instant or an interval (``a/b``, ``../b``, ``a/..``) as inclusive bounds."""
    if raw is None:
        return (None, None)
    name = "datetime"
    if "/" not in raw:
        return (_instant(raw, name, end=False), _instant(raw, name, end=True))
    left, _, right = raw.partition("/")
    start = None if left in ("", "..") else _instant(left, name, end=False)
    stop = None if right in ("", "..") else _instant(right, name, end=True)
    if start is None and stop is None:
        raise bad_param(name, "an interval needs at least one bound")
    if start is not None and stop is not None and start > stop:
        raise bad_param(name, "the interval starts after it ends")
    return (start, stop)


def absolute(request: Request, path: str, params: dict[str, Any] | None = None) -> str:
    """Absolute URL of ``path`` on this service, with optional query parameters.

    The base is the configured public URL (``Settings.base_url``): a client's ``Host``
    header is never reflected into links."""
    base = request.app.state.blightmap.settings.base_url
    query = f"?{urlencode(params)}" if params else ""
    return f"{base}{path}{query}"


def link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    """One OGC link object."""
    out = {"href": href, "rel": rel, "type": media_type}
    if title:
        out["title"] = title
    return out


def page_links(
    request: Request, collection_path: str, limit: int, offset: int, returned: int, matched: int
) -> list[dict[str, str]]:
    """``self``, ``collection`` and, where they exist, ``next``/``prev`` links of a page."""
    params = dict(request.query_params)
    links = [
        link(absolute(request, request.url.path, params), "self", GEOJSON, "this page"),
        link(absolute(request, collection_path), "collection", JSON, "the collection"),
    ]
    if offset + returned < matched:
        params.update(offset=str(offset + returned), limit=str(limit))
        links.append(link(absolute(request, request.url.path, params), "next", GEOJSON, "next"))
    if offset > 0:
        params.update(offset=str(max(0, offset - limit)), limit=str(limit))
        links.append(link(absolute(request, request.url.path, params), "prev", GEOJSON, "prev"))
    return links


def _query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "style": "form",
        "explode": False,
    }


#: OpenAPI 3.0 definitions of the OGC query parameters, as Part 1 spells them.
PARAMETERS: dict[str, dict[str, Any]] = {
    "bbox": _query_param(
        "bbox",
        "minx,miny,maxx,maxy (lon/lat in CRS84 unless bbox-crs says otherwise)",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    ),
    "bbox-crs": _query_param(
        "bbox-crs", "CRS of bbox (a URI)", {"type": "string", "format": "uri"}
    ),
    "crs": _query_param(
        "crs", "CRS of the returned geometries (a URI)", {"type": "string", "format": "uri"}
    ),
    "limit": _query_param("limit", "Page size", {"type": "integer", "minimum": 1, "default": 10}),
    "offset": _query_param(
        "offset", "Features to skip", {"type": "integer", "minimum": 0, "default": 0}
    ),
    "datetime": _query_param(
        "datetime", "RFC 3339 instant or interval (a/b, ../b, a/..)", {"type": "string"}
    ),
    "tower_id": _query_param("tower_id", "Only observations about this tower", {"type": "string"}),
    "day": _query_param(
        "day", "Only fronts of this forecast day", {"type": "integer", "minimum": 1}
    ),
    "level": _query_param(
        "level",
        "Only fronts of this probability level (0.5 or 0.9)",
        {"type": "number", "minimum": 0, "maximum": 1},
    ),
}
