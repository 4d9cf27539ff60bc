"""Forecast an outside world through the service and score it against the world's truth.

The world's towers and reports go into a fresh store; the field, the inputs and the
forecast are computed by the same service functions a ``POST /forecasts`` job runs
(:func:`service.fields.compute_field`, :func:`service.forecast_inputs.build_inputs`,
:func:`service.forecast_compute.compute_forecast`). The forecast is issued after the
last report and scored per horizon on the world's *true* state of every tower
(blighted: any tier above the threshold):

* Brier score of the tower probabilities, and of persistence (a tower is blighted
  when any tier's last report up to the issue is above the threshold): skill
  ``1 - B / B_persistence`` (None when persistence is perfect);
* reliability pairs (probability, outcome), to be pooled over worlds;
* CRPS of the blighted-tower count, from the forecast's count quantiles (the
  quantile-score form, ``2 mean_tau QS_tau``), and whether the 5-95 % band covers it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.app import build_state, open_store
from service.fields import compute_field
from service.forecast_compute import compute_forecast
from service.forecast_inputs import build_inputs
from service.schemas.forecasts import ForecastIn
from service.settings import Settings
from tests.worlds.simulator import World

__all__ = ["HORIZONS", "WorldScore", "crps_from_quantiles", "forecast_world"]

HORIZONS = (1, 3, 7, 14)


@dataclass(frozen=True, eq=False)
class WorldScore:
    """Scores of one world per horizon (keys of :data:`HORIZONS`)."""

    seed: int
    brier: dict[int, float]
    brier_persistence: dict[int, float]
    probability: dict[int, np.ndarray]
    outcome: dict[int, np.ndarray]
    crps: dict[int, float]
    covered: dict[int, bool]
    count: dict[int, int]
    served: list[dict[str, Any]]
    ppc: dict[str, Any] | None

    def skill(self, h: int) -> float | None:
        """Brier skill against persistence at horizon ``h`` (None when undefined)."""
        ref = self.brier_persistence[h]
        return None if ref == 0.0 else 1.0 - self.brier[h] / ref


def crps_from_quantiles(levels: np.ndarray, values: np.ndarray, y: float) -> float:
    """CRPS approximated as twice the mean pinball loss over the quantile levels."""
    loss = np.where(y < values, (1.0 - levels) * (values - y), levels * (y - values))
    return float(2.0 * loss.mean())


def _persistence(world: World, threshold: float) -> np.ndarray:
    last: dict[tuple[str, int], tuple[Any, float]] = {}
    for o in world.observations:
        key = (str(o.tower_id), int(o.tier or 0))
        if key not in last or o.observed_at >= last[key][0]:
            last[key] = (o.observed_at, o.intensity)
    ids = [t.id for t in world.towers]
    out = np.zeros(len(ids), dtype=bool)
    for (tower, _), (_, value) in last.items():
        if value > threshold:
            out[ids.index(tower)] = True
    return out


def forecast_world(
    world: World,
    *,
    runs: int = 100,
    seed: int = 1,
    threshold: float = 0.5,
    settings: dict[str, Any] | None = None,
    data_dir: Path | None = None,
) -> WorldScore:
    """Forecast ``world`` 14 days ahead through the service functions and score it."""
    with tempfile.TemporaryDirectory() as tmp:
        options = {"data_dir": (data_dir or Path(tmp)) / "data", **(settings or {})}
        config = Settings(**options)
        store = open_store(config)
        try:
            store.upsert_towers(list(world.towers))
            store.add_observations(list(world.observations))
            state = build_state(config, store)
            field = compute_field(store, state.towers.current(), config)
            request = ForecastIn(
                horizon_days=max(HORIZONS), runs=runs, seed=seed, threshold=threshold
            )
            inputs = build_inputs(state, field, request, ())
        finally:
            store.close()
        result = compute_forecast(inputs).result
    probs = {t["tower_id"]: np.asarray(t["probability"]) for t in result["towers"]}
    ids = [t.id for t in world.towers]
    p = np.array([probs.get(i, np.zeros(max(HORIZONS))) for i in ids])
    persisted = _persistence(world, threshold).astype(float)
    issue = world.history_days - 1
    score: dict[str, dict[int, Any]] = {k: {} for k in ("b", "bp", "p", "o", "c", "cov", "n")}
    for h in HORIZONS:
        truth = world.tower_truth(issue + h, threshold)
        prob = p[:, h - 1]
        score["b"][h] = float(np.mean((prob - truth) ** 2))
        score["bp"][h] = float(np.mean((persisted - truth) ** 2))
        score["p"][h], score["o"][h] = prob, truth
        curve = result["expected_blighted_towers"][h - 1]
        q = curve["quantiles"]
        y = int(truth.sum())
        score["c"][h] = crps_from_quantiles(np.asarray(q["levels"]), np.asarray(q["values"]), y)
        score["cov"][h] = bool(curve["p05"] <= y <= curve["p95"])
        score["n"][h] = y
    return WorldScore(
        world.seed,
        score["b"],
        score["bp"],
        score["p"],
        score["o"],
        score["c"],
        score["cov"],
        score["n"],
        result.get("served", []),
        result["calibration"].get("posterior_predictive_check"),
    )
