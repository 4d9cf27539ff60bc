"""Fixtures of the stream tests: hubs on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.stream.hub import OverlayHub
from tests.service.stream.helpers import ORIGIN, serialize


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_hub(clock: FakeClock) -> Callable[..., OverlayHub]:
    """Build hubs on the fake clock around :data:`ORIGIN` with the stand-in serializer."""

    def make(**options: Any) -> OverlayHub:
        options.setdefault("origin_lonlat", ORIGIN)
        return OverlayHub(serialize, clock=clock, **options)

    return make


@pytest.fixture
def hub(make_hub: Callable[..., OverlayHub]) -> OverlayHub:
    return make_hub()
