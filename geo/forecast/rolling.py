"""Rolling hindcast: the spread model against simpler forecasts, per horizon.

For a series (already seen through its observation model: detection floor and noise)
whose last day is ``T``, and horizons ``H``: the issue days are
``{T - h - j : h in H, 0 <= j < issues_per_horizon}`` (those >= 1). On each issue day
``t``, from days ``[0, t]`` only:

1. the growth rate is measured (:func:`~geo.forecast.calibrate.estimate_growth_rate`)
   with its standard error, and its process noise
   (:func:`~geo.forecast.uncertainty.process_sd`); without enough slopes ABC calibrates
   the growth rate as well;
2. ABC calibrates the dispersal on days ``(max(0, t - calibrate_days), t]``;
3. ``runs`` runs of ``T - t`` days (:func:`~geo.forecast.runs.posterior_runs`, starts
   drawn from the reports of day ``t``, observation error added), and the same runs
   without dispersal (the ``growth`` candidate, common random numbers);
4. every horizon ``h <= T - t`` is scored on the tiers observed on ``t + h``: outcome
   ``raw report > threshold``; persistence ``last raw report up to t > threshold``.

Pairs pool per horizon over issue days (:class:`~geo.forecast.blend.HorizonPairs`),
and :func:`~geo.forecast.blend.choose_blend` picks what to serve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.blend import HorizonPairs
from geo.forecast.calibrate import (
    DEFAULT_PRIORS,
    GROWTH_RATE_PRIOR,
    Posterior,
    Prior,
    calibrate,
    estimate_growth_rate,
)
from geo.forecast.model import Hosts, SpreadParams, SpreadState
from geo.forecast.observed import BelowFloor, ObservedSeries
from geo.forecast.runs import ParamDraw, posterior_runs
from geo.forecast.uncertainty import posterior_draw, process_sd

__all__ = ["IssuedModel", "RollingHindcast", "issue_days", "issued_draw", "rolling_hindcast"]

FloatArray = npt.NDArray[np.float64]


def issue_days(last: int, horizons: Sequence[int], per_horizon: int) -> list[int]:
    """Issue days of the rolling hindcast (see the module docstring), ascending."""
    days = {last - h - j for h in horizons for j in range(per_horizon)}
    return sorted(d for d in days if d >= 1)


@dataclass(frozen=True, eq=False)
class IssuedModel:
    """What a forecast issued on a day runs with.

    Attributes
    ----------
    posterior : Posterior
    draw : callable(rng) -> SpreadParams
        Particle, growth rate with its error, process noise.
    growth : dict
        How the growth was found (``source``, ``rate_per_day``, ``se_per_day``,
        ``sd_per_day``, ``n_pairs``).
    """

    posterior: Posterior
    draw: ParamDraw
    growth: dict[str, float | int | str]

    def with_process_sd(self, sd_per_day: float) -> ParamDraw:
        """The draw with another process noise of the growth rate."""
        if self.growth.get("source") != "measured":
            return posterior_draw(self.posterior, None, 0.0, sd_per_day)
        rate, se = float(self.growth["rate_per_day"]), float(self.growth["se_per_day"])
        return posterior_draw(self.posterior, rate, se, sd_per_day)


def issued_draw(
    hosts: Hosts,
    series: ObservedSeries,
    issued: int,
    calibrate_days: int,
    n_simulations: int,
    accept_fraction: float,
    seed: int,
    priors: Sequence[Prior] = DEFAULT_PRIORS,
    progress: Callable[[float], None] | None = None,
) -> IssuedModel:
    """Calibrate on days ``[0, issued]`` (steps 1-2 of the module docstring)."""
    estimate = estimate_growth_rate(series, issued)
    base, cal_priors = SpreadParams(), tuple(priors)
    growth: dict[str, float | int | str] = {"source": "abc"}
    if estimate is None:
        cal_priors = (*cal_priors, GROWTH_RATE_PRIOR)
    else:
        base = replace(base, growth_rate_per_day=estimate.rate_per_day)
        sd = process_sd(series, issued, estimate.rate_per_day, series.noise_sd) or 0.0
        growth = {
            "source": "measured",
            "rate_per_day": estimate.rate_per_day,
            "se_per_day": estimate.se_per_day,
            "sd_per_day": sd,
            "n_pairs": estimate.n_pairs,
        }
    posterior = calibrate(
        hosts,
        series,
        base=base,
        priors=cal_priors,
        start_day=max(0, issued - calibrate_days),
        end_day=issued,
        n_simulations=n_simulations,
        accept_fraction=accept_fraction,
        seed=seed,
        progress=progress,
    )
    if estimate is None:
        draw = posterior_draw(posterior)
    else:
        draw = posterior_draw(
            posterior, estimate.rate_per_day, estimate.se_per_day, float(growth["sd_per_day"])
        )
    return IssuedModel(posterior, draw, growth)


def without_spread(draw: ParamDraw) -> ParamDraw:
    """``draw`` with dispersal switched off (the ``growth`` candidate)."""

    def growth_only(rng: np.random.Generator) -> SpreadParams:
        return replace(draw(rng), reproductive_rate=0.0)

    return growth_only


def _start(
    series: ObservedSeries, day: int, law: BelowFloor = "draw"
) -> Callable[[np.random.Generator], SpreadState]:
    return lambda rng: series.draw_state(day, rng, law)


@dataclass(frozen=True, eq=False)
class RollingHindcast:
    """What the rolling hindcast found.

    Attributes
    ----------
    pairs : dict of int to HorizonPairs
        Pooled pairs per verified horizon.
    growth_sd_per_day : float or None
        The process noise of least Brier score over all growth-only pairs (None when
        no candidate was tried).
    start_law : {"draw", "zero"}
        How a tier reported below the detection floor starts.
    choice_brier : dict of (law, sd) to float
        Brier score of the growth-only forecast for each pair tried.
    issued : list of int
        The issue days.
    """

    pairs: dict[int, HorizonPairs]
    growth_sd_per_day: float | None
    start_law: BelowFloor
    choice_brier: dict[tuple[BelowFloor, float], float]
    issued: list[int]


def _pairs_at(
    t: int,
    horizons: Sequence[int],
    series: ObservedSeries,
    threshold: float,
    *probabilities: FloatArray,
) -> dict[int, tuple[FloatArray, ...]]:
    """Per horizon verifiable from ``t``: each probability array on the tiers reported
    on ``t + h``, then persistence and the outcome."""
    last = series.days - 1
    raw = series.raw_intensity if series.raw_intensity is not None else series.intensity
    persisted = (series.filled(t, raw=True) > threshold).astype(np.float64)
    out = {}
    for h in horizons:
        if t + h > last:
            continue
        seen = series.observed_mask[t + h]
        outcome = (raw[t + h, seen] > threshold).astype(np.float64)
        out[h] = (*(p[h, seen] for p in probabilities), persisted[seen], outcome)
    return out


@dataclass(frozen=True, eq=False)
class _Context:
    hosts: Hosts
    series: ObservedSeries
    horizons: Sequence[int]
    runs: int
    threshold: float
    seeds: list[np.random.SeedSequence]
    progress: Callable[[float], None] | None
    steps: int

    def run_seed(self, k: int) -> int:
        return int(self.seeds[k].spawn(2)[1].generate_state(1)[0])


Choice = tuple[BelowFloor, float]


def _choice_brier(
    ctx: _Context, days: list[int], models: list[IssuedModel], choices: Sequence[Choice]
) -> dict[Choice, float]:
    """Brier score of the growth-only forecast over all pairs, per start law and
    process noise."""
    last = ctx.series.days - 1
    sq = {c: [0.0, 0.0] for c in choices}
    for k, (t, model) in enumerate(zip(days, models, strict=True)):
        for law, sd in choices:
            res = posterior_runs(
                ctx.hosts,
                _start(ctx.series, t, law),
                without_spread(model.with_process_sd(sd)),
                last - t,
                ctx.runs,
                ctx.run_seed(k),
                ctx.threshold,
                observation_sd=ctx.series.noise_sd,
            )
            found = _pairs_at(t, ctx.horizons, ctx.series, ctx.threshold, res.probability)
            for p, _, o in found.values():
                sq[(law, sd)][0] += float(np.sum((p - o) ** 2))
                sq[(law, sd)][1] += float(o.size)
        if ctx.progress is not None:
            ctx.progress((k + 1) / ctx.steps)
    return {c: total / max(n, 1.0) for c, (total, n) in sq.items()}


def rolling_hindcast(
    hosts: Hosts,
    series: ObservedSeries,
    horizons: Sequence[int],
    runs: int,
    seed: int,
    threshold: float,
    *,
    calibrate_days: int = 7,
    issues_per_horizon: int = 2,
    n_simulations: int = 150,
    accept_fraction: float = 0.1,
    priors: Sequence[Prior] = DEFAULT_PRIORS,
    growth_sds: Sequence[float] = (),
    start_laws: Sequence[BelowFloor] = ("draw",),
    progress: Callable[[float], None] | None = None,
) -> RollingHindcast:
    """Pooled pairs of the three candidates per horizon (see the module docstring).

    With ``growth_sds``, the process noise and the start law (``start_laws``: how a
    tier reported below the detection floor starts, see
    :meth:`~geo.forecast.observed.ObservedSeries.draw_state`) are chosen first: on
    every issue day the growth-only forecast (cheap: no dispersal) runs with each pair,
    the pair of least Brier score over all horizons and issue days is kept, and the
    candidates then run with it (otherwise the measured process noise of
    :func:`~geo.forecast.uncertainty.process_sd` and the first law). Horizons no issue
    day can verify are left out.

    Raises
    ------
    InvalidParameter
        On a series that does not match ``hosts``, a horizon < 1 or ``runs < 1``.
    """
    if series.n != hosts.n:
        raise InvalidParameter("must have one column per host", "series")
    if any(h < 1 for h in horizons):
        raise InvalidParameter("each must be >= 1", "horizons")
    last = series.days - 1
    days = issue_days(last, horizons, issues_per_horizon)
    seeds = np.random.SeedSequence(seed).spawn(max(len(days), 1))
    models: list[IssuedModel] = []
    steps = len(days) * (2 if growth_sds else 1)
    for k, t in enumerate(days):
        cal_seq = seeds[k].spawn(2)[0]
        cal_seed = int(cal_seq.generate_state(1)[0])
        models.append(
            issued_draw(
                hosts, series, t, calibrate_days, n_simulations, accept_fraction, cal_seed, priors
            )
        )
    brier: dict[Choice, float] = {}
    chosen: float | None = None
    law: BelowFloor = start_laws[0] if start_laws else "draw"
    ctx = _Context(hosts, series, horizons, runs, threshold, seeds, progress, steps)
    if growth_sds:
        choices = [(a, sd) for a in (start_laws or ("draw",)) for sd in growth_sds]
        brier = _choice_brier(ctx, days, models, choices)
        law, chosen = min(choices, key=lambda c: (brier[c], c[1]))
    collected: dict[int, list[tuple[FloatArray, ...]]] = {h: [] for h in horizons}
    for k, (t, model) in enumerate(zip(days, models, strict=True)):
        run_seed = ctx.run_seed(k)
        draw = model.draw if chosen is None else model.with_process_sd(chosen)
        spread, growth = (
            posterior_runs(
                hosts,
                _start(series, t, law),
                d,
                last - t,
                runs,
                run_seed,
                threshold,
                observation_sd=series.noise_sd,
            )
            for d in (draw, without_spread(draw))
        )
        found = _pairs_at(t, horizons, series, threshold, spread.probability, growth.probability)
        for h, part in found.items():
            collected[h].append(part)
        if progress is not None:
            progress((steps - len(days) + k + 1) / steps)
    out: dict[int, HorizonPairs] = {}
    for h, parts in collected.items():
        if not parts:
            continue
        s, g, p, o = (np.concatenate([part[i] for part in parts]) for i in range(4))
        out[h] = HorizonPairs(h, s, g, p, o > 0.5, len(parts))
    return RollingHindcast(out, chosen, law, brier, days)
