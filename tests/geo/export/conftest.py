"""The demo district's field, towers and zones as :class:`ExportData` (built once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from geo.demo import demo_towers, simulate_outbreak
from geo.district import District
from geo.export import ExportData
from geo.grid import GridSpec
from geo.interpolate import IDWParams, KrigingParams, SampleOptions, interpolate, prepare_samples
from geo.tower_index import TowerIndex
from geo.zones import ZoneOptions, remedy_zones

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def build_demo_data(seed: int = 7) -> ExportData:
    """The demo district as the service would export it (IDW, 5 m cells, 50 m pad)."""
    towers = demo_towers(seed)
    history = simulate_outbreak(towers, end=END, seed=seed + 4)
    district = District.from_towers(towers)
    frame = district.frame
    assert frame is not None
    index = TowerIndex(towers, frame)
    recent = [o for o in history.observations if o.observed_at >= END - timedelta(days=7)]
    samples = prepare_samples(recent, frame, index, SampleOptions(), reference_time=END)
    spec = GridSpec.covering(frame.crs, district.hull_local.bounds, 5.0, 50.0)
    keys, rows = [], []
    for tower in towers:
        x, y = frame.to_local(*tower.centroid_lonlat)
        for tier in tower.tiers:
            keys.append((tower.id, tier.level))
            rows.append((x, y, tier.height_m))
    result = interpolate(
        samples, spec, np.array(rows), method="idw", idw=IDWParams(), kriging=KrigingParams()
    )
    tier_values = {
        k: (float(v), float(s))
        for k, v, s in zip(keys, result.targets_value, result.targets_se, strict=True)
    }
    zones = remedy_zones(result.grid, frame, index, tier_values, ZoneOptions())
    return ExportData(
        grid=result.grid,
        frame=frame,
        towers=tuple(towers),
        zones=tuple(zones),
        district_wgs84=frame.geometry_to_wgs84(district.area_local),
        data_version=42,
        reference_time=result.reference_time,
        method=result.method,
        tier_values=tier_values,
    )


@pytest.fixture(scope="session")
def demo_data() -> ExportData:
    return build_demo_data()
