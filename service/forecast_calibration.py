"""Calibration of the spread model for forecast jobs, kept per data version.

The observation history becomes an :class:`~geo.forecast.observed.ObservedSeries` of
UTC days, each tier's reports of a day averaged (:func:`observed_history`), seen
through the observation model the demo hindcasts were validated with
(:func:`observation_model`: intensities below a detection floor, the 95 % quantile of
the first day capped at :data:`FLOOR_CAP`, count as 0, and the noise ``floor / 1.645``
is carried into starting states). The logistic growth rate is measured directly
(:func:`geo.forecast.calibrate.estimate_growth_rate`; ABC calibrates it only when too
few slopes exist), and ABC calibrates the dispersal parameters. For a data version the
posterior is, in order of preference (:func:`calibration_for`):

1. **reused**: the record already computed for this data version (memory, then disk);
2. **updated**: the newest earlier record, if its last assimilated day is still in the
   history and new days were observed since, is updated by one ABC-SMC step on the new
   days only (:func:`geo.forecast.calibrate.update_posterior`), not refitted (the
   growth rate is measured again on all days: it needs no simulation);
3. **unchanged**: the newest earlier record, if no new day was observed since (new
   observations on an already assimilated day, treatments, towers), is carried over;
4. **fitted**: otherwise ABC rejection (:func:`geo.forecast.calibrate.calibrate`) on
   the whole history.

Records are JSON files ``v<data version>.json`` in a directory next to the store,
written atomically, so a restart loses nothing; a record whose model fingerprint (the
default :class:`SpreadParams`, the priors and the budget) differs is ignored.

Skill scores (:func:`skill_for`) come from a hindcast
(:func:`geo.forecast.hindcast.hindcast`) at each of the budget's horizons that the
history allows; they are cached in the record per threshold, so the same data version
gives the same skill without recomputing.

Budget: ABC runs are cheap but not free, and the job's worker pays for them. A pilot
of two simulations measures the cost of one, and the number of simulations is cut so
that the calibration takes about ``max_seconds`` at most (and the hindcast as much
again). Results are reproducible (seeded by the budget's seed and the data version)
whenever the time budget does not bind; the record says when it did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from geo.errors import InvalidParameter
from geo.forecast.blend import HorizonPairs, choose_blend
from geo.forecast.calibrate import (
    BLIGHTED_INTENSITY,
    DEFAULT_PRIORS,
    GROWTH_RATE_PRIOR,
    Prior,
    abc_distance,
    calibrate,
    estimate_growth_rate,
    update_posterior,
)
from geo.forecast.model import Hosts, SpreadParams
from geo.forecast.observed import ObservedSeries, daily_tier_states, noise_floor
from geo.forecast.ppc import posterior_predictive_check
from geo.forecast.rolling import issue_days, rolling_hindcast
from geo.forecast.runs import ParamDraw
from geo.forecast.skill import reliability, skill_report
from geo.forecast.uncertainty import posterior_draw, process_sd
from geo.observations import Observation
from service.forecast_records import FORMAT, CalibrationCache, CalibrationRecord

__all__ = [
    "FLOOR_CAP",
    "CalibrationBudget",
    "CalibrationCache",
    "CalibrationRecord",
    "calibration_for",
    "observation_model",
    "observed_history",
    "param_draw",
    "skill_for",
    "skill_key",
]

Progress = Callable[[float], None]
_DAY = timedelta(days=1)
FLOOR_CAP = 0.1
"""Largest detection floor (intensity): the first day's 95 % quantile is noise only
while the outbreak is young; an established one must not hide real blight."""


@dataclass(frozen=True, slots=True)
class CalibrationBudget:
    """How much calibration and hindcasting a forecast job may spend.

    Attributes
    ----------
    history_days : int
        UTC days of observations the calibration reads (the last one may be partial).
    fit_simulations, update_simulations : int
        Model runs of a fit (ABC rejection) and of an update (one ABC-SMC step).
    fit_accept_fraction, update_accept_fraction : float
    max_seconds : float
        Time the calibration may take, and the hindcast as much again (seconds).
    skill_horizons : tuple of int
        Hindcast lead times, days (those the history cannot verify are skipped).
    skill_runs, skill_simulations, skill_calibrate_days : int
        Hindcast ensemble size, ABC runs per issue day and calibration window.
    skill_issues_per_horizon : int
        Issue days of the rolling hindcast per horizon
        (:func:`geo.forecast.rolling.issue_days`).
    ppc_runs : int
        Runs of the posterior predictive check.
    seed : int
        Root seed; the data version is mixed in.
    """

    history_days: int = 21
    fit_simulations: int = 400
    update_simulations: int = 150
    fit_accept_fraction: float = 0.05
    update_accept_fraction: float = 0.2
    max_seconds: float = 30.0
    skill_horizons: tuple[int, ...] = (1, 3, 7)
    skill_runs: int = 100
    skill_simulations: int = 150
    skill_calibrate_days: int = 7
    skill_issues_per_horizon: int = 2
    ppc_runs: int = 40
    seed: int = 0

    def fingerprint(self) -> str:
        """Digest of the model defaults, priors and budget a record was made with."""
        text = json.dumps(
            {
                "format": FORMAT,
                "base": dataclasses.asdict(SpreadParams()),
                "priors": [dataclasses.asdict(p) for p in DEFAULT_PRIORS],
                "budget": dataclasses.asdict(self),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _day_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def observed_history(
    observations: Sequence[Observation], hosts: Hosts, latest: datetime, history_days: int
) -> ObservedSeries | None:
    """Daily per-tier states over the last ``history_days`` UTC days up to ``latest``.

    Day 0 starts at a UTC midnight, so a day means the same span from one data version
    to the next. None when fewer than two days hold observations of the hosts.
    """
    first = min((o.observed_at for o in observations), default=None)
    if first is None:
        return None
    start = max(_day_floor(latest) - (history_days - 1) * _DAY, _day_floor(first))
    days = (latest - start) // _DAY + 1
    series = daily_tier_states(observations, hosts, start, int(days), aggregate="mean")
    if int(series.observed_mask.any(axis=1).sum()) < 2:
        return None
    return series


def observation_model(series: ObservedSeries) -> ObservedSeries:
    """``series`` with its detection floor and noise (see the module docstring)."""
    try:
        floor = min(noise_floor(series), FLOOR_CAP)
    except InvalidParameter:  # nothing observed on the first day
        return series
    return series.with_detection_floor(floor, floor / 1.645)


def _growth(series: ObservedSeries) -> tuple[SpreadParams, tuple[Prior, ...], dict[str, Any]]:
    """Base parameters with the measured growth rate, the ABC priors, and a report."""
    estimate = estimate_growth_rate(series, series.days - 1)
    if estimate is None:
        return SpreadParams(), (*DEFAULT_PRIORS, GROWTH_RATE_PRIOR), {"source": "abc"}
    base = dataclasses.replace(SpreadParams(), growth_rate_per_day=estimate.rate_per_day)
    sd = process_sd(series, series.days - 1, estimate.rate_per_day, series.noise_sd)
    report = {
        "source": "measured",
        "rate_per_day": estimate.rate_per_day,
        "se_per_day": estimate.se_per_day,
        "sd_per_day": sd or 0.0,
        "n_pairs": estimate.n_pairs,
    }
    return base, tuple(DEFAULT_PRIORS), report


def _seed(budget: CalibrationBudget, data_version: int, purpose: int) -> int:
    seq = np.random.SeedSequence([budget.seed, data_version, purpose])
    return int(seq.generate_state(1)[0])


def _affordable(
    hosts: Hosts,
    series: ObservedSeries,
    window: tuple[int, int],
    pilots: Sequence[SpreadParams],
    wanted: int,
    seconds: float,
) -> tuple[int, float]:
    """Simulations affordable in ``seconds`` (at least 20, at most ``wanted``) and the
    measured cost of one, seconds, from a pilot run of each of ``pilots``."""
    t0 = time.perf_counter()
    for k, params in enumerate(pilots):
        abc_distance(hosts, series, params, window[0], window[1], k)
    per_run = max((time.perf_counter() - t0) / max(len(pilots), 1), 1e-6)
    return max(20, min(wanted, int(seconds / per_run))), per_run


def _prior_pilots(seed: int, count: int = 3) -> list[SpreadParams]:
    """Parameters drawn from the default priors: what a fit's runs will cost."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        values: dict[str, Any] = {
            p.name: p.to_value(float(rng.uniform(*p.bounds))) for p in DEFAULT_PRIORS
        }
        out.append(dataclasses.replace(SpreadParams(), **values))
    return out


def _dates(series: ObservedSeries, first: int, last: int) -> tuple[str, ...]:
    """ISO dates of the observed days ``first .. last`` of ``series``."""
    seen = np.asarray(series.observed_mask.any(axis=1), dtype=np.bool_)
    return tuple(
        (series.start + d * _DAY).date().isoformat() for d in range(first, last + 1) if seen[d]
    )


def _fit(
    hosts: Hosts,
    series: ObservedSeries,
    version: int,
    budget: CalibrationBudget,
    progress: Progress | None,
) -> CalibrationRecord:
    last = series.days - 1
    base, priors, growth = _growth(series)
    pilots = _prior_pilots(_seed(budget, version, 0))
    n, _ = _affordable(hosts, series, (0, last), pilots, budget.fit_simulations, budget.max_seconds)
    posterior = calibrate(
        hosts,
        series,
        base=base,
        priors=priors,
        start_day=0,
        end_day=last,
        n_simulations=n,
        accept_fraction=budget.fit_accept_fraction,
        seed=_seed(budget, version, 1),
        progress=progress,
    )
    return CalibrationRecord(
        data_version=version,
        status="fitted",
        posterior=posterior,
        series_start=series.start,
        end_time=series.start + last * _DAY,
        days_used=_dates(series, 1, last),
        lineage=(),
        n_simulations=n,
        limited_by_time=n < budget.fit_simulations,
        computed_at=datetime.now(UTC),
        fingerprint=budget.fingerprint(),
        detection_floor=series.detection_floor,
        noise_sd=series.noise_sd,
        growth=growth,
    )


def _step(record: CalibrationRecord) -> dict[str, Any]:
    return {
        "data_version": record.data_version,
        "status": record.status,
        "days": len(record.days_used),
        "n_simulations": record.n_simulations,
    }


def _update(
    previous: CalibrationRecord,
    hosts: Hosts,
    series: ObservedSeries,
    since: int,
    version: int,
    budget: CalibrationBudget,
    progress: Progress | None,
) -> CalibrationRecord:
    last = series.days - 1
    post = previous.posterior
    base, _, growth = _growth(series)
    if growth["source"] == "measured" and "growth_rate_per_day" not in post.names:
        rate = base.growth_rate_per_day
        post = dataclasses.replace(
            post, base=dataclasses.replace(post.base, growth_rate_per_day=rate)
        )
    else:
        growth = previous.growth or growth
    pilots = [post.params(k) for k in range(min(3, post.weights.size))]
    window = (since, last)
    n, _ = _affordable(hosts, series, window, pilots, budget.update_simulations, budget.max_seconds)
    posterior = update_posterior(
        post,
        hosts,
        series,
        start_day=since,
        end_day=last,
        n_simulations=n,
        accept_fraction=budget.update_accept_fraction,
        seed=_seed(budget, version, 2),
        progress=progress,
    )
    return CalibrationRecord(
        data_version=version,
        status="updated",
        posterior=posterior,
        series_start=series.start,
        end_time=series.start + last * _DAY,
        days_used=_dates(series, since + 1, last),
        lineage=(*previous.lineage, _step(previous)),
        n_simulations=n,
        limited_by_time=n < budget.update_simulations,
        computed_at=datetime.now(UTC),
        fingerprint=budget.fingerprint(),
        detection_floor=series.detection_floor,
        noise_sd=series.noise_sd,
        growth=growth,
    )


def calibration_for(
    cache: CalibrationCache,
    hosts: Hosts,
    series: ObservedSeries,
    data_version: int,
    budget: CalibrationBudget,
    progress: Progress | None = None,
) -> CalibrationRecord:
    """The posterior for ``data_version``: reused, updated, carried over or fitted (see
    the module docstring), and kept in ``cache``.

    ``series`` is the raw history (:func:`observed_history`); the observation model is
    applied here. ``progress`` gets the completed fraction of the ABC runs; it may
    raise to stop.
    """
    fingerprint = budget.fingerprint()
    record = cache.get(data_version, fingerprint)
    if record is not None:
        return record
    series = observation_model(series)
    previous = cache.latest_before(data_version, fingerprint)
    last = series.days - 1
    record = None
    if previous is not None:
        since = (previous.end_time - series.start) // _DAY
        if since >= last:
            record = dataclasses.replace(
                previous,
                data_version=data_version,
                status="unchanged",
                days_used=(),
                lineage=(*previous.lineage, _step(previous)),
                n_simulations=0,
                limited_by_time=False,
                computed_at=datetime.now(UTC),
                skill={},
            )
        elif since >= 0 and series.observed_mask[since + 1 :].any():
            record = _update(previous, hosts, series, since, data_version, budget, progress)
    if record is None:
        record = _fit(hosts, series, data_version, budget, progress)
    if record.status != "unchanged":
        record = _with_ppc(record, hosts, series, budget)
    cache.put(record)
    return record


def param_draw(record: CalibrationRecord) -> ParamDraw:
    """How each forecast run draws its parameters from ``record``: a particle, and a
    measured growth rate drawn with its standard error and process noise
    (:func:`geo.forecast.uncertainty.posterior_draw`)."""
    growth = record.growth or {}
    if growth.get("source") != "measured" or "growth_rate_per_day" in record.posterior.names:
        return posterior_draw(record.posterior)
    return posterior_draw(
        record.posterior,
        float(record.posterior.base.growth_rate_per_day),
        float(growth.get("se_per_day", 0.0)),
        float(growth.get("sd_per_day", 0.0)),
    )


def _with_ppc(
    record: CalibrationRecord, hosts: Hosts, series: ObservedSeries, budget: CalibrationBudget
) -> CalibrationRecord:
    """``record`` with its posterior predictive check on the last assimilated days."""
    last = series.days - 1
    start = max(0, last - budget.skill_calibrate_days)
    if last <= start or not series.observed_mask[start + 1 :].any():
        return record
    check = posterior_predictive_check(
        hosts,
        series,
        param_draw(record),
        start,
        last,
        budget.ppc_runs,
        _seed(budget, record.data_version, 5),
        BLIGHTED_INTENSITY,
    )
    check["threshold"] = BLIGHTED_INTENSITY
    check["dates"] = [(series.start + d * _DAY).date().isoformat() for d in check.pop("days")]
    return dataclasses.replace(record, ppc=check)


def skill_key(threshold: float) -> str:
    """The key of a threshold's skill in :attr:`CalibrationRecord.skill`."""
    return repr(float(threshold))


def _horizons(series: ObservedSeries, budget: CalibrationBudget) -> list[int]:
    return [h for h in budget.skill_horizons if 1 <= h < series.days - 1]


def skill_for(
    cache: CalibrationCache,
    record: CalibrationRecord,
    hosts: Hosts,
    series: ObservedSeries,
    threshold: float,
    budget: CalibrationBudget,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Hindcast skill per horizon at ``threshold`` for the record's data version,
    computed once and cached in the record (see the module docstring)."""
    key = skill_key(threshold)
    if key in record.skill:
        return record.skill[key]
    horizons = _horizons(series, budget)
    last = series.days - 1
    if not horizons or not series.observed_mask[last].any():
        skill: dict[str, Any] = {
            "status": "not computed",
            "reason": "the history is too short, or its last day unobserved, for a hindcast",
        }
    else:
        skill = _hindcast(
            record, hosts, series, horizons, threshold, record.data_version, budget, progress
        )
    record.skill[key] = skill
    cache.put(record)
    return skill


def _served(pairs: HorizonPairs, budget_step: float = 0.25) -> dict[str, Any]:
    """One horizon of the skill: what is served, its scores and each candidate's."""
    blend = choose_blend(pairs, budget_step)
    served = np.clip(pairs.mix(blend.weights), 0.0, 1.0)
    min_count = 20
    report = skill_report(
        pairs.horizon_days, served, pairs.outcome, pairs.persistence, min_count=min_count
    )
    rel = reliability(served, pairs.outcome, min_count=min_count)
    candidates = {
        name: skill_report(
            pairs.horizon_days, p, pairs.outcome, pairs.persistence, min_count=min_count
        ).to_dict()
        for name, p in (("spread", pairs.spread), ("growth", pairs.growth))
    }
    return {
        "horizon_days": pairs.horizon_days,
        "issues": pairs.issues,
        **blend.to_dict(),
        "skill": report.to_dict(),
        "candidates": candidates,
        "reliability": {
            "edges": [float(e) for e in rel.edges],
            "mean_forecast": [None if not np.isfinite(v) else float(v) for v in rel.mean_forecast],
            "observed_frequency": [
                None if not np.isfinite(v) else float(v) for v in rel.observed_frequency
            ],
            "count": [int(c) for c in rel.count],
            "min_count": min_count,
            "max_gap": None if rel.max_gap is None else float(rel.max_gap),
        },
    }


def _hindcast(
    record: CalibrationRecord,
    hosts: Hosts,
    series: ObservedSeries,
    horizons: list[int],
    threshold: float,
    version: int,
    budget: CalibrationBudget,
    progress: Progress | None,
) -> dict[str, Any]:
    last = series.days - 1
    model_series = series.with_detection_floor(record.detection_floor, record.noise_sd)
    days = issue_days(last, horizons, budget.skill_issues_per_horizon)
    window = (max(0, last - budget.skill_calibrate_days), last)
    pilots = _prior_pilots(_seed(budget, version, 4))
    _, per_run = _affordable(hosts, model_series, window, pilots, 1, budget.max_seconds)
    per_day = per_run / max(window[1] - window[0], 1)
    sims, runs = budget.skill_simulations, budget.skill_runs
    spans = sum(last - t for t in days)
    cost = per_day * (len(days) * sims * budget.skill_calibrate_days + 2 * runs * spans)
    scale = min(1.0, budget.max_seconds / max(cost, 1e-9))
    sims = min(sims, max(20, int(sims * scale)))
    runs = min(runs, max(20, int(runs * scale)))
    pairs = rolling_hindcast(
        hosts,
        model_series,
        horizons,
        runs,
        _seed(budget, version, 3),
        threshold,
        calibrate_days=budget.skill_calibrate_days,
        issues_per_horizon=budget.skill_issues_per_horizon,
        n_simulations=sims,
        accept_fraction=budget.fit_accept_fraction * 2,
        progress=progress,
    )
    out: dict[str, Any] = {
        "method": "hindcast",
        "status": "computed",
        "design": "rolling: calibrated on the days up to each issue day only",
        "verified_date": (series.start + last * _DAY).date().isoformat(),
        "issued_dates": [(series.start + t * _DAY).date().isoformat() for t in days],
        "reference": "persistence (the last report up to the issue day, thresholded)",
        "candidates": {
            "spread": "the calibrated spread model",
            "growth": "the same runs without dispersal (growth only)",
            "persistence": "the last report up to the issue day, thresholded",
        },
        "runs": runs,
        "calibration_simulations": sims,
        "limited_by_time": scale < 1.0,
        "horizons": [_served(pairs[h]) for h in horizons if h in pairs],
        "unverified_horizons": [h for h in horizons if h not in pairs],
    }
    return out
