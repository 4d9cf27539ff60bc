"""Hindcasts: forecasts made from the past and scored on what was observed later.

For an :class:`~geo.forecast.observed.ObservedSeries` whose last day is ``T`` and each
horizon ``h`` (days, ``1 <= h < T``):

1. Calibrate: :func:`~geo.forecast.calibrate.calibrate` on days
   ``(max(0, T - h - calibrate_days), T - h]`` only; nothing after ``T - h`` is read.
2. Forecast: ``runs`` model runs of ``h`` days from the observed state on ``T - h``
   (last observation carried forward, :meth:`ObservedSeries.state`), each with its own
   parameters drawn from the posterior (:meth:`Posterior.sample_params`). The forecast
   probability of host ``k`` is the fraction of runs in which its intensity on ``T``
   exceeds ``threshold``.
3. Score, on the hosts observed on day ``T``: outcome ``o = i_obs(T) > threshold``;
   persistence ``p_ref = 1{filled(T - h) > threshold}`` (the observed state on
   ``T - h`` thresholded, last observation carried forward);
   :func:`~geo.forecast.skill.skill_report` (binary maps at probability 0.5) and the
   :func:`~geo.forecast.skill.reliability` curve.

Randomness: horizon ``k`` takes ``SeedSequence(seed).spawn(len(horizons))[k]``,
spawned again into the calibration seed, the draw of the parameters and one sequence
per run; the same inputs give the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.calibrate import DEFAULT_PRIORS, Distance, Posterior, Prior, calibrate
from geo.forecast.model import Hosts, SpreadParams, run
from geo.forecast.observed import ObservedSeries
from geo.forecast.skill import ReliabilityCurve, SkillReport, reliability, skill_report

__all__ = ["HindcastReport", "HorizonHindcast", "hindcast"]

FloatArray = npt.NDArray[np.float64]


def _finite_or_none(values: FloatArray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


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
        The calibration the forecast used.
    """

    horizon_days: int
    issued_day: int
    skill: SkillReport
    reliability: ReliabilityCurve
    posterior: Posterior

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``None`` for undefined values, never NaN)."""
        rel = self.reliability
        return {
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
        }


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
    start = series.state(issued)
    above = np.zeros(hosts.n)
    for r in range(runs):
        traj = run(hosts, start, posterior.sample_params(rng), horizon, run_seqs[r])
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
) -> HindcastReport:
    """Calibrate, forecast and score each horizon (see the module docstring).

    Parameters
    ----------
    hosts : Hosts
    series : ObservedSeries
        One column per host; its last day ``T`` is the verification day.
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
    seen = series.observed_mask[last]
    outcome = series.intensity[last, seen] > threshold
    results: list[HorizonHindcast] = []
    for k, (h, seq) in enumerate(
        zip(horizon_days, np.random.SeedSequence(seed).spawn(len(horizon_days)), strict=True)
    ):
        issued = last - h
        cal_seq, run_seq = seq.spawn(2)
        posterior = calibrate(
            hosts,
            series,
            base=base,
            priors=priors,
            start_day=max(0, issued - calibrate_days),
            end_day=issued,
            n_simulations=n_simulations,
            accept_fraction=accept_fraction,
            seed=int(cal_seq.generate_state(1)[0]),
            distance=distance,
        )
        p = _forecast(hosts, series, posterior, issued, h, runs, threshold, run_seq)[seen]
        persistence = (series.filled(issued)[seen] > threshold).astype(np.float64)
        results.append(
            HorizonHindcast(
                horizon_days=h,
                issued_day=issued,
                skill=skill_report(h, p, outcome, persistence),
                reliability=reliability(p, outcome),
                posterior=posterior,
            )
        )
        if progress is not None:
            progress((k + 1) / len(horizon_days))
    return HindcastReport(tuple(results), last, runs, float(threshold))
