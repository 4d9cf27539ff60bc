"""Shared fixtures: the default demo district and its default outbreak (built once)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from geo.demo import OutbreakHistory, demo_towers, simulate_outbreak
from geo.layer import Tower

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def towers() -> list[Tower]:
    return demo_towers()


@pytest.fixture(scope="session")
def history(towers: list[Tower]) -> OutbreakHistory:
    return simulate_outbreak(towers, end=END)
