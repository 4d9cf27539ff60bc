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
from geo.forecast.observed import ObservedSeries
from geo.forecast.runs import ParamDraw, posterior_runs
from geo.forecast.uncertainty import posterior_draw, process_sd

__all__ = ["issue_days", "issued_draw", "rolling_hindcast"]

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


def _start(series: ObservedSeries, day: int) -> Callable[[np.random.Generator], SpreadState]:
    return lambda rng: series.draw_state(day, rng)


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
    progress: Callable[[float], None] | None = None,
) -> dict[int, HorizonPairs]:
    """Pooled pairs of the three candidates per horizon (see the module docstring).

    Horizons no issue day can verify are left out of the result.

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
    raw = series.raw_intensity if series.raw_intensity is not None else series.intensity
    seen_mask = series.observed_mask
    collected: dict[int, list[tuple[FloatArray, ...]]] = {h: [] for h in horizons}
    seeds = np.random.SeedSequence(seed).spawn(max(len(days), 1))
    for k, t in enumerate(days):
        cal_seq, run_seq = seeds[k].spawn(2)
        model = issued_draw(
            hosts,
            series,
            t,
            calibrate_days,
            n_simulations,
            accept_fraction,
            int(cal_seq.generate_state(1)[0]),
            priors,
        )
        span = last - t
        run_seed = int(run_seq.generate_state(1)[0])
        common = (hosts, _start(series, t))
        spread = posterior_runs(
            *common, model.draw, span, runs, run_seed, threshold, observation_sd=series.noise_sd
        )
        growth = posterior_runs(
            *common,
            without_spread(model.draw),
            span,
            runs,
            run_seed,
            threshold,
            observation_sd=series.noise_sd,
        )
        persisted = (series.filled(t, raw=True) > threshold).astype(np.float64)
        for h in horizons:
            if h > span:
                continue
            seen = seen_mask[t + h]
            collected[h].append(
                (
                    spread.probability[h, seen],
                    growth.probability[h, seen],
                    persisted[seen],
                    (raw[t + h, seen] > threshold).astype(np.float64),
                )
            )
        if progress is not None:
            progress((k + 1) / len(days))
    out: dict[int, HorizonPairs] = {}
    for h, parts in collected.items():
        if not parts:
            continue
        s, g, p, o = (np.concatenate([part[i] for part in parts]) for i in range(4))
        out[h] = HorizonPairs(h, s, g, p, o > 0.5, len(parts))
    return out
