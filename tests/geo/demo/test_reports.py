"""The reports of the outbreak truth: counts, ids, ranges, cadences, fidelity."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import timedelta

import numpy as np
import pytest
from pyproj import Geod

from geo.demo import OutbreakHistory, history_truth_at
from geo.layer import Tower
from geo.observations import Observation, Source

from .conftest import END

GEOD = Geod(ellps="WGS84")
ID_RE = re.compile(r"demo-(sensor|drone|person|model)-(T-\d{2}-\d{2}-\d)-(\d+)-(\d{4})")


def _key(o: Observation) -> tuple[str, int]:
    assert o.tower_id is not None and o.tier is not None
    return o.tower_id, o.tier


def _by_source(history: OutbreakHistory, source: Source) -> list[Observation]:
    return [o for o in history.observations if o.source is source]


def test_counts_per_source(history: OutbreakHistory) -> None:
    counts = Counter(o.source for o in history.observations)
    n_tiers = len(history.tier_index)
    assert 5_000 <= len(history.observations) <= 15_000
    sensors = n_tiers / 3
    assert 0.9 * sensors * 56 <= counts[Source.SENSOR] <= sensors * 57
    assert 200 <= counts[Source.DRONE] <= 700
    assert 25 <= counts[Source.PERSON] <= 110
    assert 0.1 * n_tiers * 29 <= counts[Source.MODEL] <= 0.2 * n_tiers * 29


def test_ids_unique_and_consistent(history: OutbreakHistory) -> None:
    ids = [o.id for o in history.observations]
    assert len(set(ids)) == len(ids)
    for o in history.observations:
        match = ID_RE.fullmatch(o.id)
        assert match is not None, o.id
        assert match[1] == o.source.value
        assert match[2] == o.tower_id
        assert int(match[3]) == o.tier


def test_values_ranges_and_references(towers: list[Tower], history: OutbreakHistory) -> None:
    tiers = set(history.tier_index)
    start = history.times[0]
    for o in history.observations:
        assert 0.0 <= o.intensity <= 1.0
        assert o.confidence is not None and 0.0 < o.confidence <= 1.0
        assert o.observed_at.utcoffset() == timedelta(0)
        assert start <= o.observed_at <= END
        assert (o.tower_id, o.tier) in tiers
        assert o.properties()["observed_at"].endswith("Z")
    keys = [(o.observed_at, o.id) for o in history.observations]
    assert keys == sorted(keys)


def test_positions_at_tower_centroids(towers: list[Tower], history: OutbreakHistory) -> None:
    centroid = {t.id: t.centroid_lonlat for t in towers}
    for o in history.observations:
        assert o.tower_id is not None
        lon, lat = centroid[o.tower_id]
        distance = GEOD.inv(lon, lat, o.lon, o.lat)[2]
        if o.source is Source.PERSON:
            assert distance < 30.0
        else:
            assert distance < 0.01
    persons = _by_source(history, Source.PERSON)
    jittered = [GEOD.inv(*centroid[_key(o)[0]], o.lon, o.lat)[2] > 0.5 for o in persons]
    assert sum(jittered) > 0.8 * len(persons)


def test_sensors(history: OutbreakHistory) -> None:
    sensors = _by_source(history, Source.SENSOR)
    per_tier: dict[tuple[str | None, int | None], list[Observation]] = defaultdict(list)
    for o in sensors:
        per_tier[o.tower_id, o.tier].append(o)
        assert o.confidence == pytest.approx(0.9)
        assert o.microbial_balance is not None and 0.0 <= o.microbial_balance <= 1.0
        assert o.height_ellipsoid_m is None
    assert abs(len(per_tier) - len(history.tier_index) / 3) <= 1
    for reports in per_tier.values():
        gaps = np.diff([o.observed_at.timestamp() for o in reports])
        assert np.all(gaps > 0) and np.all(gaps % (6 * 3600) == 0)
    errors = [
        o.intensity - history_truth_at(history, o.observed_at)[_key(o)] for o in sensors[::25]
    ]
    assert float(np.std(errors)) < 0.05
    assert abs(float(np.mean(errors))) < 0.03


def test_drones(towers: list[Tower], history: OutbreakHistory) -> None:
    drones = _by_source(history, Source.DRONE)
    by_id = {t.id: t for t in towers}
    passes: dict[int, set[str]] = defaultdict(set)
    for o in drones:
        assert o.tower_id is not None and o.tier is not None and o.height_ellipsoid_m is not None
        tower = by_id[o.tower_id]
        assert o.tier >= len(tower.tiers) - 2  # top tiers only
        assert o.height_ellipsoid_m == pytest.approx(
            tower.base_height_m + tower.tiers[o.tier].height_m, abs=0.01
        )
        assert o.confidence == pytest.approx(0.7)
        passes[int(o.id[-4:])].add(o.tower_id)
    assert 6 <= len(passes) <= 8
    assert all(abs(len(v) - len(towers) / 2) <= 1 for v in passes.values())
    first_by_pass = sorted(
        min(o.observed_at for o in drones if int(o.id[-4:]) == p) for p in passes
    )
    assert all(b - a == timedelta(days=2) for a, b in itertools.pairwise(first_by_pass))


def test_people(history: OutbreakHistory) -> None:
    persons = _by_source(history, Source.PERSON)
    per_day = Counter(o.observed_at.date() for o in persons)
    assert max(per_day.values()) <= 15
    for o in persons:
        assert round(o.intensity * 10) == pytest.approx(o.intensity * 10, abs=1e-9)
        assert o.confidence == pytest.approx(0.5)
        assert o.microbial_balance is None
    # People report where blight shows.
    seen = [history_truth_at(history, o.observed_at)[_key(o)] for o in persons]
    overall = [
        float(np.mean(list(history_truth_at(history, o.observed_at).values()))) for o in persons
    ]
    assert np.mean(seen) > np.mean(overall)


def test_model(history: OutbreakHistory) -> None:
    model = _by_source(history, Source.MODEL)
    assert {(o.observed_at.hour, o.observed_at.minute) for o in model} <= {(0, 0), (12, 0)}
    assert {o.confidence for o in model} == {0.6}
    tiers = {(o.tower_id, o.tier) for o in model}
    assert abs(len(tiers) - 0.15 * len(history.tier_index)) <= 1
