"""ConnectionGuard without sockets: caps, idle-first eviction, purge, rate-limited log."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from service.guard.connections import ConnectionGuard


class Conn:
    """A stand-in connection."""

    def __init__(self, ip: str = "10.0.0.1") -> None:
        self.peer_ip = ip
        self.closed = False

    def evict(self) -> None:
        self.closed = True


def make(max_connections: int = 3, max_per_ip: int = 0, **options: object) -> ConnectionGuard:
    return ConnectionGuard(max_connections, max_per_ip, later=lambda d, f: None, **options)  # type: ignore[arg-type]


def test_the_longest_idle_connection_makes_room() -> None:
    guard = make(3)
    a, b, c = Conn(), Conn(), Conn()
    for conn in (a, b, c):
        assert guard.admit(conn) == "ok"
    guard.busy(a)  # a request in progress: not evictable
    guard.busy(b)
    guard.idle(b)  # b finished a response after c connected: c is idlest
    newcomer = Conn()
    assert guard.admit(newcomer) == "ok"
    assert c.closed and not a.closed and not b.closed
    assert len(guard) == 3 and guard.events["evicted_idle"] == 1


def test_a_full_server_of_busy_connections_refuses() -> None:
    guard = make(2)
    conns = [Conn(), Conn()]
    for conn in conns:
        guard.admit(conn)
        guard.busy(conn)
    assert guard.admit(Conn()) == "full"
    conns[0].closed = True  # closed without release (an upgraded socket): purged
    assert guard.admit(Conn()) == "ok"


def test_the_per_ip_cap_counts_each_address() -> None:
    guard = make(0, max_per_ip=2)
    first = [Conn("10.0.0.1"), Conn("10.0.0.1")]
    for conn in first:
        assert guard.admit(conn) == "ok"
    assert guard.admit(Conn("10.0.0.1")) == "per_ip"
    assert guard.admit(Conn("10.0.0.2")) == "ok"
    guard.release(first[0])
    guard.release(first[0])  # idempotent
    assert guard.per_ip("10.0.0.1") == 1
    assert guard.admit(Conn("10.0.0.1")) == "ok"


def test_events_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    flushes: list[Callable[[], None]] = []
    guard = ConnectionGuard(
        1, 0, clock=lambda: now[0], later=lambda d, f: flushes.append(f), log_every_s=1.0
    )
    guard.admit(Conn())
    guard.admit(Conn())  # evicts the first: logged at once
    with caplog.at_level(logging.WARNING, "blightmap.guard"):
        for _ in range(100):
            guard.admit(Conn())
        assert len(caplog.records) <= 1
        assert len(flushes) == 1  # one deferred summary, not one per event
        now[0] = 1.5
        flushes[0]()
    assert "evicted_idle" in caplog.records[-1].getMessage()
    assert guard.events["evicted_idle"] == 101
