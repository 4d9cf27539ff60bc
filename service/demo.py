"""Fill an empty store with the demo district and its simulated outbreak history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from geo.demo import demo_towers, simulate_outbreak
from service.store import Store

__all__ = ["seed_demo"]

CHUNK = 1_000


def seed_demo(
    store: Store,
    seed: int = 7,
    end: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Add the demo towers and two weeks of outbreak observations if the store is empty.

    Returns ``(towers, observations)`` added; ``(0, 0)`` when the store already holds data,
    so a restart with ``--demo`` never mixes a second history into the first.
    """
    counts = store.counts()
    if counts["towers"] or counts["observations"]:
        return (0, 0)
    towers = demo_towers(seed)
    end = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    history = simulate_outbreak(towers, end=end, seed=seed + 4)
    store.upsert_towers(towers)
    observations = history.observations
    for start in range(0, len(observations), CHUNK):
        store.add_observations(observations[start : start + CHUNK])
        if progress:
            progress(min(start + CHUNK, len(observations)), len(observations))
    return (len(towers), len(observations))
