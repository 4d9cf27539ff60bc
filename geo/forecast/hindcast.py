"""Hindcasts: forecasts made from the past and scored on what was observed later.

For an :class:`~geo.forecast.observed.ObservedSeries` whose last day is ``T`` and each
horizon ``h`` (days, ``1 <= h < T``); nothing after the issue day ``T - h`` is read
before step 4:

1. Observation model: observed intensities below a detection floor count as 0
   (``detection_floor``; ``"auto"``: :func:`~geo.forecast.observed.noise_floor`, the
   95 % quantile of day 0, at most half the threshold), with the observation noise
   ``noise_sd`` (default ``floor / 1.645``) carried into every starting state
   (:meth:`~geo.forecast.observed.ObservedSeries.draw_state`).
2. Calibrate: ``growth_rate_per_day`` measured directly on days ``[0, T - h]``
   (:func:`~geo.forecast.calibrate.estimate_growth_rate`, ``growth="estimate"``,
   combined with ``growth_prior`` when one is given; when fewer than 5 slopes exist,
   the prior alone or else ABC; ABC with ``growth="calibrate"``), then
   :func:`~geo.forecast.calibrate.calibrate` of ``priors`` on days
   ``(max(0, T - h - calibrate_days), T - h]``.
3. Forecast: ``runs`` model runs of ``h`` days, each from its own starting state drawn
   on ``T - h`` and its own parameters drawn from the posterior
   (:meth:`Posterior.sample_params`). The forecast probability of host ``k`` is the
   fraction of runs in which its intensity on ``T`` exceeds ``threshold``.
4. Score, on the hosts observed on day ``T`` (:class:`Verification`): outcome
   ``o = i_obs(T) > threshold`` (the raw observation, no floor); persistence
   ``p_ref = 1{filled(T - h) > threshold}``;
   :func:`~geo.forecast.skill.skill_report` (binary maps at probability 0.5), the
   :func:`~geo.forecast.skill.reliability` curve, and the same scores per group of
   hosts (:data:`GROUPS`): blighted on the issue day (persistence says yes), not
   blighted (persistence says no: only predicted spread and growth can score there),
   and of the latter those detected below the threshold and those not detected.

Verifications of several hindcasts (other histories, other days) pool with
:func:`pool`, for reliability bins with enough samples.

Randomness: horizon ``k`` takes ``SeedSequence(seed).spawn(len(horizons))[k]``,
spawned again into the calibration seed, the draw of the parameters and one sequence
per run (itself split into the starting state and the model); the same inputs give
the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.calibrate import (
    DEFAULT_PRIORS,
    GROWTH_RATE_PRIOR,
    Distance,
    GrowthEstimate,
    Posterior,
    Prior,
    calibrate,
    estimate_growth_rate,
)
from geo.forecast.model import Hosts, SpreadParams, run
from geo.forecast.observed import ObservedSeries, noise_floor
from geo.forecast.skill import (
    ReliabilityCurve,
    SkillReport,
    brier_score,
    reliability,
    roc_auc,
    skill_report,
)

__all__ = [
    "GROUPS",
    "GroupSkill",
    "HindcastReport",
    "HorizonHindcast",
    "Verification",
    "hindcast",
    "pool",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Growth = Literal["estimate", "calibrate", "fixed"]

GROUPS = ("all", "blighted_at_issue", "not_blighted_at_issue", "detected_below", "undetected")
"""Host groups scored separately (see the module docstring)."""


def _finite_or_none(values: FloatArray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _none_if_nan(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class GroupSkill:
    """Scores of the hosts of one group (see :data:`GROUPS`).

    ``expected_events`` is the sum of the forecast probabilities (the number of hosts
    the forecast expects to be blighted), ``events`` the number observed blighted.
    ``bss`` is None when persistence was perfect on the group, ``auc`` when the group
    holds one class only; every score is None for an empty group.
    """

    group: str
    n: int
    events: int
    expected_events: float
    brier: float | None
    brier_persistence: float | None
    bss: float | None
    auc: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``None`` for undefined values)."""
        return {
            "group": self.group,
            "n": self.n,
            "events": self.events,
            "expected_events": float(self.expected_events),
            "brier": _none_if_nan(self.brier),
            "brier_persistence": _none_if_nan(self.brier_persistence),
            "bss": _none_if_nan(self.bss),
            "auc": _none_if_nan(self.auc),
        }


def _group_skill(name: str, p: FloatArray, o: BoolArray, ref: FloatArray) -> GroupSkill:
    if p.size == 0:
        return GroupSkill(name, 0, 0, 0.0, None, None, None, None)
    brier, brier_ref = brier_score(p, o), brier_score(ref, o)
    return GroupSkill(
        group=name,
        n=int(p.size),
        events=int(o.sum()),
        expected_events=float(p.sum()),
        brier=brier,
        brier_persistence=brier_ref,
        bss=None if brier_ref == 0.0 else 1.0 - brier / brier_ref,
        auc=roc_auc(p, o) if 0 < int(o.sum()) < o.size else None,
    )


@dataclass(frozen=True, eq=False)
class Verification:
    """Forecast/outcome pairs of one horizon, one entry per verified host.

    Attributes
    ----------
    probability : numpy.ndarray of float
        Forecast probability of being blighted on the verification day.
    outcome : numpy.ndarray of bool
        Observed blighted on the verification day.
    persistence : numpy.ndarray of float
        Persistence forecast, 0 or 1.
    detected : numpy.ndarray of bool
        Observed intensity on the issue day at or above the detection floor and > 0.
    """

    probability: FloatArray
    outcome: BoolArray
    persistence: FloatArray
    detected: BoolArray

    def group_mask(self, group: str) -> BoolArray:
        """Boolean mask of the hosts of ``group`` (one of :data:`GROUPS`)."""
        blighted = self.persistence > 0.5
        masks = {
            "all": np.ones_like(blighted),
            "blighted_at_issue": blighted,
            "not_blighted_at_issue": ~blighted,
            "detected_below": ~blighted & self.detected,
            "undetected": ~blighted & ~self.detected,
        }
        if group not in masks:
            raise InvalidParameter(f"must be one of {', '.join(GROUPS)}", "group")
        return np.asarray(masks[group], dtype=np.bool_)

    def subset(self, mask: npt.ArrayLike) -> Verification:
        """The pairs where ``mask`` (bool, one per pair) is True."""
        m = np.asarray(mask, dtype=np.bool_)
        if m.shape != self.probability.shape:
            raise InvalidParameter("must hold one bool per pair", "mask")
        return Verification(
            self.probability[m], self.outcome[m], self.persistence[m], self.detected[m]
        )

    def groups(self) -> tuple[GroupSkill, ...]:
        """:class:`GroupSkill` of every group of :data:`GROUPS`, in that order."""
        out = []
        for name in GROUPS:
            m = self.group_mask(name)
            out.append(
                _group_skill(name, self.probability[m], self.outcome[m], self.persistence[m])
            )
        return tuple(out)

    def probabilistic_share(self, low: float = 0.05, high: float = 0.95) -> float:
        """Share of forecasts strictly between ``low`` and ``high`` (not near 0 or 1)."""
        p = self.probability
        return float(np.mean((p > low) & (p < high))) if p.size else 0.0

    def skill(self, horizon_days: int, min_count: int = 20) -> SkillReport:
        """:func:`~geo.forecast.skill.skill_report` of all pairs."""
        return skill_report(
            horizon_days, self.probability, self.outcome, self.persistence, min_count=min_count
        )

    def reliability(self, min_count: int = 20) -> ReliabilityCurve:
        """Ten-bin reliability curve; bins with ``min_count`` pairs enter ``max_gap``."""
        return reliability(self.probability, self.outcome, min_count=min_count)

    def to_dict(self) -> dict[str, Any]:
        """Group scores, the probability histogram and the probabilistic share."""
        counts, _ = np.histogram(self.probability, bins=np.linspace(0.0, 1.0, 11))
        return {
            "groups": [g.to_dict() for g in self.groups()],
            "probability_histogram": [int(c) for c in counts],
            "probabilistic_share": self.probabilistic_share(),
        }


def pool(verifications: Sequence[Verification]) -> Verification:
    """All pairs of several verifications (histories, days) as one.

    Raises
    ------
    InvalidParameter
        When ``verifications`` is empty.
    """
    if not verifications:
        raise InvalidParameter("must not be empty", "verifications")
    return Verification(
        probability=np.concatenate([v.probability for v in verifications]),
        outcome=np.concatenate([v.outcome for v in verifications]),
        persistence=np.concatenate([v.persistence for v in verifications]),
        detected=np.concatenate([v.detected for v in verifications]),
    )


@dataclass(frozen=True, eq=False)
class HorizonHindcast:
    """The hindcast of one horizon.

    Attributes
    ----------
    horizon_days : int
    issued_day : int
        Day of the series the forecast was made on (``T - h``).
    skill : SkillReport
    reliability : ReliabilityCurve
    posterior : Posterior
        The calibration the forecast used (its ``base`` holds the growth rate).
    verification : Verification or None
        The forecast/outcome pairs behind the scores.
    growth : GrowthEstimate or None
        The directly measured growth rate, None when it came from ABC or ``base``.
    detection_floor, noise_sd : float
        The observation model used (intensity units).
    """

    horizon_days: int
    issued_day: int
    skill: SkillReport
    reliability: ReliabilityCurve
    posterior: Posterior
    verification: Verification | None = None
    growth: GrowthEstimate | None = None
    detection_floor: float = 0.0
    noise_sd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``None`` for undefined values, never NaN)."""
        rel = self.reliability
        out: dict[str, Any] = {
            "horizon_days": self.horizon_days,
            "issued_day": self.issued_day,
            "skill": self.skill.to_dict(),
            "reliability": {
                "edges": [float(e) for e in rel.edges],
                "mean_forecast": _finite_or_none(rel.mean_forecast),
                "observed_frequency": _finite_or_none(rel.observed_frequency),
                "count": [int(c) for c in rel.count],
                "min_count": int(rel.min_count),
                "max_gap": None if rel.max_gap is None else float(rel.max_gap),
            },
            "posterior": self.posterior.summary(),
            "growth_rate_per_day": float(self.posterior.base.growth_rate_per_day),
            "growth_estimate": None
            if self.growth is None
            else {
                "rate_per_day": self.growth.rate_per_day,
                "n_pairs": self.growth.n_pairs,
                "p25": self.growth.p25,
                "p75": self.growth.p75,
                "se_per_day": self.growth.se_per_day,
            },
            "detection_floor": self.detection_floor,
            "noise_sd": self.noise_sd,
        }
        if self.verification is not None:
            out.update(self.verification.to_dict())
        return out


@dataclass(frozen=True, eq=False)
class HindcastReport:
    """Hindcast skill per horizon.

    Attributes
    ----------
    horizons : tuple of HorizonHindcast
        In the order requested.
    verified_day : int
        Day ``T`` of the series all horizons are scored on.
    runs : int
    threshold : float
        Intensity above which a tier counts as blighted.
    """

    horizons: tuple[HorizonHindcast, ...]
    verified_day: int
    runs: int
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the report."""
        return {
            "verified_day": self.verified_day,
            "runs": self.runs,
            "threshold": self.threshold,
            "horizons": [h.to_dict() for h in self.horizons],
        }


def _check(
    hosts: Hosts, series: ObservedSeries, horizons: Sequence[int], runs: int, threshold: float
) -> int:
    if series.n != hosts.n:
        raise InvalidParameter("must have one column per host", "series")
    last = series.days - 1
    if not horizons:
        raise InvalidParameter("must not be empty", "horizon_days")
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h < last:
            raise InvalidParameter(f"each must be an integer within [1, {last})", "horizon_days")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise InvalidParameter("must be an integer >= 1", "runs")
    if not 0.0 <= threshold < 1.0:
        raise InvalidParameter("must be within [0, 1)", "threshold")
    if not series.observed_mask[last].any():
        raise InvalidParameter("no host is observed on the last day", "series")
    return last


def _observation_model(
    series: ObservedSeries,
    detection_floor: float | Literal["auto"] | None,
    noise_sd: float | None,
    threshold: float,
) -> ObservedSeries:
    """The series seen through the detection floor, with its noise (step 1)."""
    if detection_floor is None:
        floor = series.detection_floor
    elif detection_floor == "auto":
        floor = max(series.detection_floor, min(noise_floor(series), 0.5 * threshold))
    else:
        floor = float(detection_floor)
    sd = floor / 1.645 if noise_sd is None else float(noise_sd)
    if floor == series.detection_floor and sd == series.noise_sd:
        return series
    return series.with_detection_floor(floor, sd)


def _growth(
    series: ObservedSeries,
    issued: int,
    growth: Growth,
    base: SpreadParams,
    priors: tuple[Prior, ...],
    growth_prior: tuple[float, float] | None,
) -> tuple[SpreadParams, tuple[Prior, ...], GrowthEstimate | None]:
    """Base parameters and priors with the growth rate handled as ``growth`` asks."""
    if growth not in ("estimate", "calibrate", "fixed"):
        raise InvalidParameter("must be 'estimate', 'calibrate' or 'fixed'", "growth")
    in_priors = any(p.name == GROWTH_RATE_PRIOR.name for p in priors)
    if growth == "fixed" or in_priors:
        return base, priors, None
    estimate = estimate_growth_rate(series, issued) if growth == "estimate" else None
    if estimate is None and growth_prior is not None:
        return replace(base, growth_rate_per_day=max(growth_prior[0], 0.0)), priors, None
    if estimate is None:
        return base, (*priors, GROWTH_RATE_PRIOR), None
    rate = estimate.rate_per_day if growth_prior is None else estimate.combined(*growth_prior)
    return replace(base, growth_rate_per_day=rate), priors, estimate


def _forecast(
    hosts: Hosts,
    series: ObservedSeries,
    posterior: Posterior,
    issued: int,
    horizon: int,
    runs: int,
    threshold: float,
    seq: np.random.SeedSequence,
) -> FloatArray:
    """Fraction of runs above ``threshold`` on day ``issued + horizon``, per host."""
    draw_seq, *run_seqs = seq.spawn(runs + 1)
    rng = np.random.default_rng(draw_seq)
    above = np.zeros(hosts.n)
    for r in range(runs):
        init_seq, model_seq = run_seqs[r].spawn(2)
        start = series.draw_state(issued, np.random.default_rng(init_seq))
        traj = run(hosts, start, posterior.sample_params(rng), horizon, model_seq)
        above += traj[-1] > threshold
    return above / runs


def hindcast(
    hosts: Hosts,
    series: ObservedSeries,
    horizon_days: Sequence[int],
    runs: int,
    seed: int,
    calibrate_days: int,
    threshold: float = 0.2,
    *,
    base: SpreadParams | None = None,
    priors: Sequence[Prior] = DEFAULT_PRIORS,
    n_simulations: int = 200,
    accept_fraction: float = 0.05,
    distance: Distance = "summary",
    progress: Callable[[float], None] | None = None,
    detection_floor: float | Literal["auto"] | None = "auto",
    noise_sd: float | None = None,
    growth: Growth = "estimate",
    min_count: int = 20,
    growth_prior: tuple[float, float] | None = None,
) -> HindcastReport:
    """Calibrate, forecast and score each horizon (see the module docstring).

    Parameters
    ----------
    hosts : Hosts
    series : ObservedSeries
        One column per host; its last day ``T`` is the verification day. Raw
        observations: the detection floor is applied here.
    horizon_days : sequence of int
        Lead times, each within ``[1, T)``.
    runs : int
        Model runs per horizon, each with parameters drawn from the posterior.
    seed : int
    calibrate_days : int
        Length of the calibration window ending on ``T - h`` (>= 1; cut at day 0).
    threshold : float
        Intensity above which a tier counts as blighted.
    base, priors, n_simulations, accept_fraction, distance
        Passed to :func:`~geo.forecast.calibrate.calibrate`.
    progress : callable, optional
        Called with the completed fraction in (0, 1] after each horizon.
    detection_floor : float, "auto" or None
        Observed intensities below it count as 0 (intensity units); ``"auto"``:
        :func:`~geo.forecast.observed.noise_floor` of the series, at most
        ``threshold / 2``; None: the series' own ``detection_floor``.
    noise_sd : float, optional
        Observation noise carried into the starting states (intensity units);
        default ``floor / 1.645`` (0 when there is no floor).
    growth : {"estimate", "calibrate", "fixed"}
        How ``growth_rate_per_day`` is found: measured directly (ABC when too few
        observations), by ABC, or taken from ``base``. Ignored when ``priors`` holds
        a growth-rate prior.
    min_count : int
        Least number of forecasts in a reliability bin for it to enter ``max_gap``.
    growth_prior : (mean, sd), optional
        Normal prior of the growth rate per day (e.g. measured on earlier outbreaks):
        with ``growth="estimate"`` the measured rate is combined with it
        (:meth:`~geo.forecast.calibrate.GrowthEstimate.combined`), and it stands alone
        when too few slopes exist (instead of ABC).

    Returns
    -------
    HindcastReport

    Raises
    ------
    InvalidParameter
        On out-of-range arguments, or when day ``T`` has no observed host.
    """
    last = _check(hosts, series, horizon_days, runs, threshold)
    if isinstance(calibrate_days, bool) or not isinstance(calibrate_days, int):
        raise InvalidParameter("must be an integer >= 1", "calibrate_days")
    if calibrate_days < 1:
        raise InvalidParameter("must be an integer >= 1", "calibrate_days")
    if growth_prior is not None and not (
        len(growth_prior) == 2
        and all(np.isfinite(v) for v in growth_prior)
        and growth_prior[0] >= 0.0
        and growth_prior[1] >= 0.0
    ):
        raise InvalidParameter("must be (mean, sd), finite and >= 0, per day", "growth_prior")
    seen = series.observed_mask[last]
    outcome = series.intensity[last, seen] > threshold
    model_series = _observation_model(series, detection_floor, noise_sd, threshold)
    base = SpreadParams() if base is None else base
    results: list[HorizonHindcast] = []
    for k, (h, seq) in enumerate(
        zip(horizon_days, np.random.SeedSequence(seed).spawn(len(horizon_days)), strict=True)
    ):
        issued = last - h
        cal_seq, run_seq = seq.spawn(2)
        h_base, h_priors, estimate = _growth(
            model_series, issued, growth, base, tuple(priors), growth_prior
        )
        posterior = calibrate(
            hosts,
            model_series,
            base=h_base,
            priors=h_priors,
            start_day=max(0, issued - calibrate_days),
            end_day=issued,
            n_simulations=n_simulations,
            accept_fraction=accept_fraction,
            seed=int(cal_seq.generate_state(1)[0]),
            distance=distance,
        )
        p = _forecast(hosts, model_series, posterior, issued, h, runs, threshold, run_seq)[seen]
        verification = Verification(
            probability=p,
            outcome=outcome,
            persistence=(series.filled(issued)[seen] > threshold).astype(np.float64),
            detected=model_series.filled(issued)[seen] > 0.0,
        )
        results.append(
            HorizonHindcast(
                horizon_days=h,
                issued_day=issued,
                skill=verification.skill(h, min_count),
                reliability=verification.reliability(min_count),
                posterior=posterior,
                verification=verification,
                growth=estimate,
                detection_floor=model_series.detection_floor,
                noise_sd=model_series.noise_sd,
            )
        )
        if progress is not None:
            progress((k + 1) / len(horizon_days))
    return HindcastReport(tuple(results), last, runs, float(threshold))
