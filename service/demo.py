"""Fill an empty store with the demo district and its simulated outbreak history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from geo.crs import LocalFrame
from geo.demo import OutbreakHistory, demo_towers, simulate_outbreak
from geo.layer import Tower
from geo.treatments import Treatment
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
    for treatment in morning_treatments(towers, history):
        store.add_treatment(treatment)
    observations = history.observations
    for start in range(0, len(observations), CHUNK):
        store.add_observations(observations[start : start + CHUNK])
        if progress:
            progress(min(start + CHUNK, len(observations)), len(observations))
    return (len(towers), len(observations))


def morning_treatments(towers: list[Tower], history: OutbreakHistory) -> list[Treatment]:
    """What the demo's planners sprayed this morning: 30 m around the two worst towers.

    Applied two hours before the end of the history, so the simulated outbreak (which
    knows nothing of treatments) stays the honest ground truth up to then.
    """
    worst = sorted(history.tower_intensity().items(), key=lambda kv: -kv[1])[:2]
    by_id = {t.id: t for t in towers}
    frame = LocalFrame.for_geometries([t.footprint_wgs84 for t in towers])
    applied_at = history.times[-1] - timedelta(hours=2)
    return [
        Treatment(
            id=f"demo-treatment-{n}",
            geometry_wgs84=frame.geometry_to_wgs84(
                frame.geometry_to_local(by_id[tower_id].footprint_wgs84).buffer(30.0)
            ),
            strain="Bacillus subtilis QST 713",
            dose_l_per_m2=0.5,
            applied_at=applied_at,
            notes=f"sprayed around tower {tower_id} and on all its tiers",
        )
        for n, (tower_id, _) in enumerate(worst, start=1)
    ]
