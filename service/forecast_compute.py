"""The blocking forecast computations a job runs: calibrate, hindcast, ensemble, compare.

Plain glue (picklable inputs -> :mod:`geo.forecast` -> JSON-safe dicts and arrays),
run in a worker process by :class:`service.forecasts.ForecastManager` and in-process by
``blightmap forecast``.

Each ensemble run draws its own spread parameters from the calibrated posterior
(:meth:`geo.forecast.calibrate.Posterior.sample_params`) and its own start from the
field's error: run ``r`` takes ``SeedSequence(seed).spawn(runs)[r]``, spawned into the
parameter draw and the seed of a one-run :func:`geo.forecast.ensemble.ensemble`. Two
scenarios with the same seed therefore share every random number up to the model's
own draws (common random numbers), so their difference is mostly the scenario's.

The start is the interpolated field at each tier with its standard error, except that
tiers below the calibration's detection floor start healthy (see :func:`_start_arrays`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry import Point, mapping

from geo.crs import LocalFrame
from geo.forecast.blend import CANDIDATES, SPREAD_ONLY, serve_mixture, weights_by_day
from geo.forecast.ensemble import draw_initial
from geo.forecast.fronts import forecast_fronts, probability_grid
from geo.forecast.model import Hosts, SpreadParams, SpreadState
from geo.forecast.observed import ObservedSeries
from geo.forecast.rolling import without_spread
from geo.forecast.runs import ParamDraw, RunsSummary, posterior_runs, tower_hits
from geo.forecast.scenario import PlannedTreatment, protection_schedule
from geo.grid import Grid, GridSpec
from geo.layer import Tower
from geo.treatments import Treatment
from service.forecast_calibration import (
    CalibrationBudget,
    calibration_for,
    param_draw,
    skill_for,
    skill_key,
)
from service.forecast_records import CalibrationCache, CalibrationRecord, cache_for

__all__ = [
    "FRONT_LEVELS",
    "EnsembleSummary",
    "ForecastInputs",
    "ForecastOutput",
    "compute_comparison",
    "compute_forecast",
    "posterior_ensemble",
    "served_weights",
]

FRONT_LEVELS = (0.5, 0.9)
FloatArray = npt.NDArray[np.float64]
Progress = Callable[[float], None]
Planned = tuple[tuple[int, Treatment], ...]


@dataclass(frozen=True, slots=True)
class ForecastInputs:
    """Everything the worker needs, all picklable.

    Attributes
    ----------
    towers : tuple of Tower
    tier_values : dict of (tower_id, level) to (intensity, std_error)
        The field's values at the tiers (the ensemble's starting state).
    crs : str
        The field's local frame: ``"EPSG:<code>"`` or WKT.
    grid : tuple of (west_m, north_m, resolution_m, width, height)
        The field's grid, on which fronts and probability grids are computed.
    applied : tuple of Treatment
        Treatments already recorded (they keep protecting as they decay).
    planned : tuple of (day, Treatment)
        The scenario's planned treatments (the baseline's, for a comparison).
    start : datetime
        Forecast day 0 (the field's reference time).
    horizon_days, runs, seed : int
    threshold : float
        A tier is blighted when its intensity is strictly above this.
    data_version : int
        The data the inputs were read from (the calibration's key).
    history : ObservedSeries or None
        Daily observed tier states to calibrate on; None: prior defaults are used.
    calibration_dir : str or None
        Where calibration records persist (None: memory only).
    budget : CalibrationBudget
    alternative : tuple of (day, Treatment), optional
        For a comparison, the alternative scenario's planned treatments.
    min_drop : float
        For a comparison, the least drop of probability of a tower counted as saved.
    """

    towers: tuple[Tower, ...]
    tier_values: dict[tuple[str, int], tuple[float, float]]
    crs: str
    grid: tuple[float, float, float, int, int]
    applied: tuple[Treatment, ...]
    planned: Planned
    start: datetime
    horizon_days: int
    runs: int
    seed: int
    threshold: float
    data_version: int = 0
    history: ObservedSeries | None = None
    calibration_dir: str | None = None
    budget: CalibrationBudget = field(default_factory=CalibrationBudget)
    alternative: Planned | None = None
    min_drop: float = 0.0


@dataclass(frozen=True, slots=True, eq=False)
class ForecastOutput:
    """A finished forecast: its JSON result and its probability grids.

    Attributes
    ----------
    result : dict
        The JSON-safe result of the job resource.
    probability : numpy.ndarray of float32, shape (days, height, width)
        Probability of blight on the field's grid for days ``1 .. horizon_days``
        (:func:`geo.forecast.fronts.probability_grid` of the per-tier probabilities);
        empty for a comparison.
    grid : tuple of (crs, west_m, north_m, resolution_m, width, height)
        The grid of ``probability`` (``crs`` as ``"EPSG:<code>"`` or WKT).
    """

    result: dict[str, Any]
    probability: np.ndarray
    grid: tuple[str, float, float, float, int, int]

    def spec(self) -> GridSpec:
        """The :class:`GridSpec` of :attr:`probability`."""
        crs, west, north, res, width, height = self.grid
        return GridSpec(LocalFrame.from_crs(crs).crs, west, north, res, width, height)

    def grids(self) -> list[Grid]:
        """One :class:`Grid` per forecast day (variance 0: the probability is the value)."""
        spec = self.spec()
        zeros = np.zeros(spec.shape)
        return [Grid(spec, day.astype(np.float64), zeros) for day in self.probability]


EnsembleSummary = RunsSummary
"""What a forecast needs from an ensemble (see :class:`geo.forecast.runs.RunsSummary`)."""


def posterior_ensemble(
    hosts: Hosts,
    mean: FloatArray,
    se: FloatArray,
    draw: Callable[[np.random.Generator], SpreadParams],
    days: int,
    runs: int,
    seed: int,
    threshold: float,
    protection_by_day: FloatArray,
    progress: Progress | None = None,
    observation_sd: float = 0.0,
) -> EnsembleSummary:
    """``runs`` model runs, each with parameters from ``draw``, its start drawn from the
    field's value and error at each host, and its days seen with ``observation_sd``
    (:func:`geo.forecast.runs.posterior_runs`).

    ``progress`` gets the completed fraction after each run and may raise to stop.
    """

    def start(rng: np.random.Generator) -> SpreadState:
        return SpreadState.initial(draw_initial(mean, se, rng))

    return posterior_runs(
        hosts,
        start,
        draw,
        days,
        runs,
        seed,
        threshold,
        observation_sd=observation_sd,
        protection_by_day=protection_by_day,
        progress=progress,
    )


def _finite(value: Any) -> Any:
    """``value`` with numpy scalars made plain and non-finite floats made None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _start_arrays(
    hosts: Hosts,
    tier_values: dict[tuple[str, int], tuple[float, float]],
    detection_floor: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """The field's value and error at each host; below ``detection_floor`` a tier is
    "not detected" and starts healthy, without error (as the calibration's observation
    model reads such observations; otherwise the field's error would seed an infection
    in every tier)."""
    levels = hosts.level if hosts.level is not None else np.zeros(hosts.n, np.int64)
    mean = np.zeros(hosts.n)
    se = np.zeros(hosts.n)
    for h, (t, lv) in enumerate(zip(hosts.tower_index, levels, strict=True)):
        value, error = tier_values.get((hosts.tower_ids[int(t)], int(lv)), (0.0, 0.0))
        mean[h] = min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
        se[h] = max(error, 0.0) if math.isfinite(error) else 0.0
    absent = mean < detection_floor
    mean[absent], se[absent] = 0.0, 0.0
    return mean, se


class _Phases:
    """Maps each phase's completed fraction onto one overall fraction."""

    def __init__(self, progress: Progress | None, weights: dict[str, float]) -> None:
        self.progress = progress
        total = sum(weights.values()) or 1.0
        self.spans: dict[str, tuple[float, float]] = {}
        start = 0.0
        for name, w in weights.items():
            self.spans[name] = (start, w / total)
            start += w / total

    def of(self, name: str) -> Progress | None:
        if self.progress is None or name not in self.spans:
            return None
        offset, width = self.spans[name]
        report = self.progress
        return lambda fraction: report(offset + width * min(max(fraction, 0.0), 1.0))


@dataclass(frozen=True, eq=False)
class _Prepared:
    frame: LocalFrame
    hosts: Hosts
    mean: FloatArray
    se: FloatArray
    spec: GridSpec
    draw: ParamDraw
    calibration: dict[str, Any]
    skill: dict[str, Any]
    noise_sd: float = 0.0


def _defaults(reason: str) -> dict[str, Any]:
    return {
        "method": "defaults",
        "status": "not calibrated",
        "reason": reason,
        "parameters": _finite({k: {"value": v} for k, v in asdict(SpreadParams()).items()}),
    }


def _cache(inputs: ForecastInputs) -> CalibrationCache:
    return cache_for(Path(inputs.calibration_dir) if inputs.calibration_dir else None)


def _phases(inputs: ForecastInputs, progress: Progress | None, *runs: str) -> _Phases:
    """Progress weights of the work left: calibration and skill only when not cached."""
    weights: dict[str, float] = {}
    if inputs.history is not None:
        record = _cache(inputs).get(inputs.data_version, inputs.budget.fingerprint())
        if record is None:
            weights["calibrate"] = 3.0
        if record is None or skill_key(inputs.threshold) not in record.skill:
            weights["skill"] = 2.0
    weights.update({name: 5.0 for name in runs})
    weights["fronts"] = 1.0
    return _Phases(progress, weights)


def _calibrate(
    inputs: ForecastInputs, hosts: Hosts, phases: _Phases
) -> tuple[CalibrationRecord | None, dict[str, Any], dict[str, Any]]:
    if inputs.history is None:
        reason = "fewer than two days of observations of the towers' tiers"
        return None, _defaults(reason), {"status": "not computed", "reason": reason}
    cache = _cache(inputs)
    record = calibration_for(
        cache, hosts, inputs.history, inputs.data_version, inputs.budget, phases.of("calibrate")
    )
    skill = skill_for(
        cache,
        record,
        hosts,
        inputs.history,
        inputs.threshold,
        inputs.budget,
        phases.of("skill"),
    )
    return record, record.report(), skill


def _prepare(inputs: ForecastInputs, phases: _Phases) -> _Prepared:
    frame = LocalFrame.from_crs(inputs.crs)
    hosts = Hosts.from_towers(inputs.towers, frame)
    record, calibration, skill = _calibrate(inputs, hosts, phases)
    fixed = SpreadParams()
    draw: ParamDraw = (lambda rng: fixed) if record is None else param_draw(record)
    floor = record.detection_floor if record is not None else 0.0
    noise = record.noise_sd if record is not None else 0.0
    mean, se = _start_arrays(hosts, inputs.tier_values, floor)
    west, north, res, width, height = inputs.grid
    spec = GridSpec(frame.crs, west, north, res, width, height)
    return _Prepared(frame, hosts, mean, se, spec, draw, calibration, skill, noise)


def _weights(named: dict[str, Any]) -> tuple[float, float, float]:
    """(spread, growth, persistence) from a ``weights`` dict of the skill."""
    return (float(named["spread"]), float(named["growth"]), float(named["persistence"]))


def served_weights(skill: dict[str, Any], days: int) -> list[dict[str, Any]]:
    """What is served on each day ``1 .. days`` (:func:`geo.forecast.blend.weights_by_day`
    of the hindcast's choice per horizon), whether a hindcast verified it, and why."""
    horizons = {int(h["horizon_days"]): h for h in skill.get("horizons", [])}
    chosen = weights_by_day({h: _weights(v["weights"]) for h, v in horizons.items()}, days)
    out = []
    for day, (weights, verified) in enumerate(chosen, start=1):
        near = min(horizons, key=lambda h: (abs(h - day), h), default=None)
        pure = [k for k, w in zip(CANDIDATES, weights, strict=True) if w == 1.0]
        out.append(
            {
                "day": day,
                "serves": pure[0] if pure else "blend",
                "weights": dict(zip(CANDIDATES, weights, strict=True)),
                "verified": verified,
                "reason": SPREAD_ONLY.reason if near is None else horizons[near]["reason"],
                "nearest_horizon_days": near,
            }
        )
    return out


def _run(
    inputs: ForecastInputs, prep: _Prepared, planned: Planned, progress: Progress | None
) -> EnsembleSummary:
    """The served ensemble of ``planned``: the spread runs, mixed with the growth-only
    runs and persistence by :func:`served_weights`."""
    days = inputs.horizon_days
    schedule = protection_schedule(
        prep.hosts,
        inputs.towers,
        prep.frame,
        [PlannedTreatment(day, t) for day, t in planned],
        list(inputs.applied),
        inputs.start,
        days,
    )
    served = served_weights(prep.skill, days)
    weights = [_weights(entry["weights"]) for entry in served]
    need_growth = any(w[1] > 0.0 for w in weights)
    share = 0.8 if need_growth else 1.0

    def part(offset: float, width: float) -> Progress | None:
        return None if progress is None else (lambda f: progress(offset + width * f))

    protection = np.clip(schedule, 0.0, 1.0)

    def ensemble_of(draw: ParamDraw, offset: float, width: float) -> EnsembleSummary:
        return posterior_ensemble(
            prep.hosts,
            prep.mean,
            prep.se,
            draw,
            days,
            inputs.runs,
            inputs.seed,
            inputs.threshold,
            protection,
            part(offset, width),
            observation_sd=prep.noise_sd,
        )

    spread = ensemble_of(prep.draw, 0.0, share)
    growth = ensemble_of(without_spread(prep.draw), share, 1.0 - share) if need_growth else None
    persisted = prep.mean > inputs.threshold
    towers = tower_hits(prep.hosts, persisted[None, :])[0]
    return serve_mixture(spread, growth, persisted, towers, [(w[0], w[1], w[2]) for w in weights])


def _towers(hosts: Hosts, prob: FloatArray, tower_prob: FloatArray) -> list[dict[str, Any]]:
    levels = hosts.level if hosts.level is not None else np.zeros(hosts.n, np.int64)
    towers = []
    for t_idx, tower_id in enumerate(hosts.tower_ids):
        members = np.flatnonzero(hosts.tower_index == t_idx)
        if members.size == 0:
            continue
        tiers = [
            {"tier": int(levels[h]), "probability": [float(p) for p in prob[1:, h]]}
            for h in members
        ]
        per_day = tower_prob[1:, t_idx]
        towers.append(
            {"tower_id": tower_id, "probability": [float(p) for p in per_day], "tiers": tiers}
        )
    return towers


def _curve(summary: EnsembleSummary, days: int) -> list[dict[str, Any]]:
    counts = summary.towers_blighted
    band = np.quantile(counts, [0.05, 0.95], axis=0)
    levels = np.round(np.arange(1, 20) * 0.05, 2)
    ladder = np.quantile(counts, levels, axis=0)
    return [
        {
            "day": day,
            "mean": float(counts[:, day].mean()),
            "p05": float(band[0, day]),
            "p95": float(band[1, day]),
            "quantiles": {
                "levels": [float(q) for q in levels],
                "values": [float(v) for v in ladder[:, day]],
            },
        }
        for day in range(1, days + 1)
    ]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def compute_forecast(inputs: ForecastInputs, progress: Progress | None = None) -> ForecastOutput:
    """Calibrate (or reuse), hindcast (or reuse) and run the ensemble forecast of
    ``inputs`` (blocking); describe it as JSON with its daily probability grids.

    ``progress(fraction)`` is called as the work advances and may raise to stop.
    A tower's probability is the fraction of the served runs in which any of its tiers
    is blighted; ``served`` says, per day, which forecast is served (spread model,
    growth only, persistence or a blend, chosen by the rolling hindcast) and whether
    a hindcast verified it. Day 0 (the start) is left out of every series.

    Raises
    ------
    GeoError
        When the inputs cannot give a forecast.
    """
    phases = _phases(inputs, progress, "ensemble")
    prep = _prepare(inputs, phases)
    days = inputs.horizon_days
    summary = _run(inputs, prep, inputs.planned, phases.of("ensemble"))
    prob = np.clip(np.nan_to_num(summary.probability, nan=0.0), 0.0, 1.0)
    day_list = range(1, days + 1)
    fronts = forecast_fronts(prep.hosts, prob, prep.spec, prep.frame, FRONT_LEVELS, day_list)
    grids = np.stack([probability_grid(prep.hosts, prob[d], prep.spec) for d in day_list])
    result = _finite(
        {
            "threshold": inputs.threshold,
            "start": _iso(inputs.start),
            "towers": _towers(prep.hosts, prob, summary.tower_probability),
            "expected_blighted_towers": _curve(summary, days),
            "fronts": {
                "type": "FeatureCollection",
                "features": [f.to_feature() for f in fronts],
            },
            "served": served_weights(prep.skill, days),
            "calibration": prep.calibration,
            "skill": prep.skill,
        }
    )
    west, north, res, width, height = inputs.grid
    grid = (inputs.crs, west, north, res, width, height)
    return ForecastOutput(result, grids.astype(np.float32), grid)


def _saved_features(
    prep: _Prepared, base: FloatArray, alt: FloatArray, min_drop: float
) -> list[dict[str, Any]]:
    """Towers whose probability on the last day drops by more than ``min_drop``, as
    GeoJSON point features at their centroids (lon/lat), largest drop first."""
    tb, ta = base, alt
    drop = tb - ta
    features: list[dict[str, Any]] = []
    for t, tower_id in enumerate(prep.hosts.tower_ids):
        members = prep.hosts.tower_index == t
        if not members.any() or not drop[-1, t] > min_drop:
            continue
        x, y = prep.hosts.x_m[members][0], prep.hosts.y_m[members][0]
        lon, lat = prep.frame.to_wgs84(np.array([x]), np.array([y]))
        features.append(
            {
                "type": "Feature",
                "id": tower_id,
                "geometry": mapping_point(float(lon[0]), float(lat[0])),
                "properties": {
                    "tower_id": tower_id,
                    "probability_baseline": float(tb[-1, t]),
                    "probability_alternative": float(ta[-1, t]),
                    "drop": float(drop[-1, t]),
                    "drop_by_day": [float(v) for v in drop[1:, t]],
                },
            }
        )
    features.sort(key=lambda f: -float(f["properties"]["drop"]))
    return features


def mapping_point(lon: float, lat: float) -> dict[str, Any]:
    """A GeoJSON Point (lon, lat rounded to 1e-7 degrees, about 1 cm)."""
    return dict(mapping(Point(round(lon, 7), round(lat, 7))))


def _difference(base: EnsembleSummary, alt: EnsembleSummary, days: int) -> list[dict[str, Any]]:
    """Per day: blighted towers of each scenario and the paired difference (saved)."""
    diff = base.towers_blighted - alt.towers_blighted
    band = np.quantile(diff, [0.05, 0.95], axis=0)
    b, a = _curve(base, days), _curve(alt, days)
    return [
        {
            "day": day,
            "baseline": b[day - 1],
            "alternative": a[day - 1],
            "towers_saved": {
                "mean": float(diff[:, day].mean()),
                "p05": float(band[0, day]),
                "p95": float(band[1, day]),
            },
        }
        for day in range(1, days + 1)
    ]


def compute_comparison(inputs: ForecastInputs, progress: Progress | None = None) -> ForecastOutput:
    """Run the baseline (``inputs.planned``) and the alternative (``inputs.alternative``)
    with common random numbers and describe what the alternative saves.

    The result has, per day, the expected blighted towers of each scenario with its
    5-95 % band and the paired difference ``towers_saved`` (baseline minus alternative,
    per run, then mean and band); and ``saved``: a FeatureCollection of the towers
    whose last-day probability drops by more than ``inputs.min_drop``.

    Raises
    ------
    GeoError
        When the inputs cannot give a forecast.
    """
    phases = _phases(inputs, progress, "baseline", "alternative")
    prep = _prepare(inputs, phases)
    days = inputs.horizon_days
    base = _run(inputs, prep, inputs.planned, phases.of("baseline"))
    alt = _run(inputs, prep, inputs.alternative or (), phases.of("alternative"))
    saved = _saved_features(prep, base.tower_probability, alt.tower_probability, inputs.min_drop)
    result = _finite(
        {
            "threshold": inputs.threshold,
            "start": _iso(inputs.start),
            "common_random_numbers": True,
            "days": _difference(base, alt, days),
            "towers_saved": len(saved),
            "saved": {"type": "FeatureCollection", "features": saved},
            "calibration": prep.calibration,
            "skill": prep.skill,
        }
    )
    west, north, res, width, height = inputs.grid
    grid = (inputs.crs, west, north, res, width, height)
    return ForecastOutput(result, np.zeros((0, height, width), np.float32), grid)
