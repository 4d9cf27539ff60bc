"""Shared fixtures of the AR asset tests: the Khronos glTF validator, GeoPose schemas,
and small synthetic towers, grids and zones in Utrecht (UTM 31N)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from jsonschema import Draft201909Validator
from numpy.typing import NDArray
from shapely.geometry import Point, Polygon

from geo.crs import LocalFrame
from geo.grid import Grid, GridSpec
from geo.layer import Tier, Tower
from geo.zones import RemedyZone
from tests.conftest import Report, ValidateGlb

__all__ = ["Report", "ValidateGlb"]

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "ar_assets" / "schemas"

FRAME = LocalFrame.from_crs("EPSG:32631")
X0, Y0 = 649_950.0, 5_773_050.0
"""A local point in Utrecht (about 5.19 E, 52.09 N), UTM 31N metres."""
GROUND_M = 45.0
"""Ellipsoidal height of the synthetic district's ground."""


def issues(report: Report) -> list[tuple[str, str, str]]:
    """(code, pointer, message) of every issue in a validator report, for assert messages."""
    return [(m["code"], m.get("pointer", ""), m["message"]) for m in report["issues"]["messages"]]


def _schema_validator(name: str) -> Draft201909Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


GEOPOSE_VALIDATORS = {
    "basic": _schema_validator("GeoPose.Basic.Quaternion.Schema.json"),
    "strict": _schema_validator("GeoPose.Basic.Strict_Quaternion.Schema.json"),
}


def assert_valid_geopose(pose: dict[str, Any]) -> None:
    """Valid against both GeoPose Basic-Quaternion schemas, finite, unit, in range."""
    for validator in GEOPOSE_VALIDATORS.values():
        errors = [e.message for e in validator.iter_errors(pose)]
        assert errors == []
    json.dumps(pose, allow_nan=False)  # raises on NaN / infinity
    q = pose["quaternion"]
    assert sum(q[k] ** 2 for k in "xyzw") == pytest.approx(1.0, abs=1e-12)
    assert -90.0 <= pose["position"]["lat"] <= 90.0
    assert -180.0 <= pose["position"]["lon"] <= 180.0


# --- synthetic district ---------------------------------------------------------------


def square_tower(
    tower_id: str, dx_m: float, dy_m: float, half_m: float | None = 5.0, tiers: int = 3
) -> Tower:
    """A tower at (X0 + dx, Y0 + dy): a local square of side ``2 half_m``, or a point."""
    x, y = X0 + dx_m, Y0 + dy_m
    local = (
        Point(x, y)
        if half_m is None
        else shapely.box(x - half_m, y - half_m, x + half_m, y + half_m)
    )
    return Tower(
        tower_id,
        FRAME.geometry_to_wgs84(local),
        GROUND_M,
        3.0 * tiers + 1.0,
        tuple(Tier(k, 3.0 * k + 0.5, "basil") for k in range(tiers)),
        name=f"Tower {tower_id}",
    )


def bump_values(spec: GridSpec, peak: float = 0.9, sigma_m: float = 40.0) -> NDArray[np.float64]:
    """A Gaussian bump of intensity centred on (X0, Y0)."""
    xs, ys = spec.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    return peak * np.exp(-((gx - X0) ** 2 + (gy - Y0) ** 2) / (2.0 * sigma_m**2))


def make_grid(west_m: float, north_m: float, width: int, height: int, res_m: float = 2.0) -> Grid:
    spec = GridSpec(FRAME.crs, west_m, north_m, res_m, width, height)
    values = bump_values(spec)
    return Grid(spec, values, np.full(spec.shape, 0.01))


def make_zone(zone_id: str, polygon: Polygon, band: int = 1, rank: int = 1) -> RemedyZone:
    """A remedy zone built directly (the pipeline has its own tests in tests/geo)."""
    t_min, t_max = (0.2, 0.4, 0.6, 1.0)[band], (0.2, 0.4, 0.6, 1.0)[band + 1]
    return RemedyZone(
        id=zone_id,
        band=band,
        threshold_min=t_min,
        threshold_max=t_max,
        geometry_local=polygon,
        geometry_wgs84=FRAME.geometry_to_wgs84(polygon),
        area_m2=polygon.area,
        mean_intensity=(t_min + t_max) / 2,
        max_intensity=t_max,
        mean_std_error=0.05,
        towers=(),
        tiers=(),
        priority=0.5,
        rank=rank,
        dose_l_per_m2=0.25,
        ground_dose_l=0.25 * polygon.area,
        tier_dose_l=0.0,
        total_dose_l=0.25 * polygon.area,
    )
