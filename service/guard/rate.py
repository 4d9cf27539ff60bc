"""Per-key rate limits of writes and job submissions, with the ``limits`` library.

:class:`KeyRateLimits` holds one moving-window limit per scope (``"write"``: every
request needing a permission other than ``read``; ``"job"``: every forecast, comparison
and export submission) in memory, per API key id. Over a limit, :meth:`KeyRateLimits.hit`
raises :class:`~service.errors.TooManyRequests` (429) with ``Retry-After``: the seconds
until the oldest hit in the window expires.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, Literal

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service.errors import TooManyRequests

__all__ = ["STATE_KEY", "KeyRateLimits", "Scope", "check_rate", "limit_rate"]

STATE_KEY = "rate_limits"  # app.state.rate_limits holds the KeyRateLimits
Scope = Literal["write", "job"]


def check_rate(text: str) -> str:
    """``text`` if ``limits`` can parse it ("600/minute", "10/second;100/hour", "" = none)."""
    if text.strip():
        parse_many(text)  # raises ValueError
    return text


class KeyRateLimits:
    """Moving-window rate limits per scope and key id.

    Parameters
    ----------
    rates
        Scope -> rate in the ``limits`` notation (``"600/minute"``; several separated by
        ``;``); an empty string means no limit for that scope.
    """

    def __init__(self, rates: Mapping[str, str]) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[str, list[RateLimitItem]] = {
            scope: parse_many(rate) for scope, rate in rates.items() if rate.strip()
        }

    def hit(self, scope: Scope, key_id: str) -> None:
        """Count one request of ``key_id`` in ``scope``; raise 429 when over a limit."""
        for item in self._items.get(scope, ()):
            if not self._limiter.hit(item, scope, key_id):
                stats = self._limiter.get_window_stats(item, scope, key_id)
                wait_s = math.ceil(stats.reset_time - time.time())
                detail = f"{_NOUNS[scope]} of this key are limited to {item}; try again later"
                raise TooManyRequests(detail, wait_s)


_NOUNS = {"write": "writes", "job": "job submissions"}


def limit_rate(app_state: Any, scope: Scope, key_id: str | None) -> None:
    """Count a request of ``key_id`` against the app's limits (``app.state``); 429 over."""
    rates: KeyRateLimits | None = getattr(app_state, STATE_KEY, None)
    if rates is not None and key_id is not None:
        rates.hit(scope, key_id)
