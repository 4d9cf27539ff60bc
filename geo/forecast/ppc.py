"""Posterior predictive check of a calibration on the days it has already seen.

From the state reported on ``start_day``, ``runs`` runs with parameters drawn from the
calibration (the forecast's own draw: particle, growth rate, process noise) replay the
days ``(start_day, end_day]``, and each is seen as it would have been reported: the
observation error added, only the tiers actually reported that day. Two statistics
per day are compared with what was reported: the number of reported tiers above the
threshold (``blighted``) and their mean intensity (``mean_intensity``).

For each statistic the report gives, per day, the observed value and the predictive
5/50/95 % quantiles; ``inside_90`` is the share of days whose observed value lies in
the 90 % band (about 0.9 when the calibration is right; far less means the model cannot
reproduce its own data), and ``p_value`` the posterior predictive p-value of the sum
over days, ``P(sim >= obs)`` (near 0 or 1: the model over- or under-predicts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts, run
from geo.forecast.observed import ObservedSeries
from geo.forecast.runs import ParamDraw

__all__ = ["posterior_predictive_check"]

FloatArray = npt.NDArray[np.float64]


def _statistics(values: FloatArray, seen: npt.NDArray[np.bool_], threshold: float) -> FloatArray:
    """(2, days): tiers above the threshold and mean intensity over the seen cells."""
    count = np.maximum(seen.sum(axis=1), 1)
    blighted = ((values > threshold) & seen).sum(axis=1)
    mean = np.where(seen, values, 0.0).sum(axis=1) / count
    return np.vstack((blighted.astype(np.float64), mean))


def posterior_predictive_check(
    hosts: Hosts,
    series: ObservedSeries,
    draw: ParamDraw,
    start_day: int,
    end_day: int,
    runs: int,
    seed: int,
    threshold: float,
) -> dict[str, Any]:
    """The check of the module docstring, as a JSON-safe dict.

    Raises
    ------
    InvalidParameter
        On a window outside the series, no reported tier in it, or ``runs < 2``.
    """
    if not 0 <= start_day < end_day < series.days:
        raise InvalidParameter("need 0 <= start_day < end_day < series.days", "end_day")
    if runs < 2:
        raise InvalidParameter("must be >= 2", "runs")
    seen = series.observed_mask[start_day + 1 : end_day + 1]
    keep = seen.any(axis=1)
    if not keep.any():
        raise InvalidParameter("no reported tier in the window", "series")
    raw = series.raw_intensity if series.raw_intensity is not None else series.intensity
    obs = _statistics(np.nan_to_num(raw[start_day + 1 : end_day + 1]), seen, threshold)
    sims = np.empty((runs, *obs.shape))
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
        param_seq, start_seq, run_seq, obs_seq = child.spawn(4)
        params = draw(np.random.default_rng(param_seq))
        start = series.draw_state(start_day, np.random.default_rng(start_seq))
        traj = run(hosts, start, params, end_day - start_day, run_seq)[1:]
        noise = np.random.default_rng(obs_seq).standard_normal(traj.shape)
        reported = np.clip(traj + series.noise_sd * noise, 0.0, 1.0)
        sims[r] = _statistics(reported, seen, threshold)
    band = np.quantile(sims, [0.05, 0.5, 0.95], axis=0)
    days = np.flatnonzero(keep) + start_day + 1
    out: dict[str, Any] = {"days": [int(d) for d in days], "runs": runs}
    for k, name in enumerate(("blighted", "mean_intensity")):
        o, lo, mid, hi = obs[k, keep], band[0, k, keep], band[1, k, keep], band[2, k, keep]
        inside = (o >= lo) & (o <= hi)
        totals = sims[:, k, keep].sum(axis=1)
        out[name] = {
            "observed": [float(v) for v in o],
            "p05": [float(v) for v in lo],
            "p50": [float(v) for v in mid],
            "p95": [float(v) for v in hi],
            "inside_90": float(inside.mean()),
            "p_value": float(np.mean(totals >= o.sum())),
        }
    return out
