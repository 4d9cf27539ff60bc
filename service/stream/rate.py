"""A token bucket: how many client messages a connection may send, and how fast.

Plain and clock-driven (no timers), so the hub's sessions and the adapter's
authentication phase can each hold one and tests drive it with a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``burst`` saved; ``rate_per_s`` 0: unlimited.

    >>> now = [0.0]
    >>> bucket = TokenBucket(2.0, 2, lambda: now[0])
    >>> [bucket.take() for _ in range(3)]
    [True, True, False]
    >>> now[0] = 0.5
    >>> bucket.take()
    True
    """

    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._last = clock()

    @property
    def full(self) -> bool:
        """Whether the bucket has refilled to its burst (it may as well be forgotten)."""
        if self.rate_per_s <= 0:
            return True
        return self._tokens + (self._clock() - self._last) * self.rate_per_s >= self.burst

    def take(self) -> bool:
        """Spend one token if there is one; whether there was."""
        if self.rate_per_s <= 0:
            return True
        now = self._clock()
        tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True
