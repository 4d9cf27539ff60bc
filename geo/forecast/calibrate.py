"""Approximate Bayesian computation (ABC) of spread parameters from observed days.

Parameters and priors
---------------------
The calibrated parameters of :class:`~geo.forecast.model.SpreadParams` and their
default, independent priors (:data:`DEFAULT_PRIORS`)::

    reproductive_rate ~ LogUniform(0.5, 50)     spores per day at intensity 1
    short_scale_m     ~ LogUniform(2, 200)      metres
    long_fraction     ~ Uniform(0, 0.3)
    wind_dir_deg      ~ Uniform(-180, 180)      circular, degrees

(``wind_kappa ~ Uniform(0, 4)`` and ``growth_rate_per_day ~ LogUniform(0.02, 1)`` are
available as :data:`WIND_KAPPA_PRIOR` and :data:`GROWTH_RATE_PRIOR`.) Every other
parameter is taken from ``base``. The search runs in a transformed space, ``log θ``
for log-uniform priors and ``θ`` otherwise, where each prior is uniform.

Distance
--------
For a window of days ``[start_day, end_day]`` of an
:class:`~geo.forecast.observed.ObservedSeries`, a particle ``θ`` is simulated once
with :func:`~geo.forecast.model.run` from ``series.state(start_day)`` (last
observation carried forward) for ``end_day - start_day`` days, and compared with the
observed days ``d = start_day + 1 .. end_day`` on the observed cells only (the
simulation is masked like the observations, and simulated intensities below the
series' ``detection_floor`` count as 0, as they would have been observed):

- ``"summary"`` (default): per day, four summary statistics over the observed hosts,
  the fraction with intensity above :data:`INFECTED_INTENSITY` (0.02), the fraction
  above :data:`BLIGHTED_INTENSITY` (0.2), the mean intensity, and the spatial spread,
  the intensity-weighted RMS distance of the hosts from their intensity-weighted
  centroid divided by the RMS distance of all hosts from theirs; the distance is the
  sum over statistics of their absolute differences, averaged over days. It does not
  ask a stochastic run to infect the very same tiers, only as many, as much and as far;
- ``"mae"``: ``mean_{(d, h) observed} |i_sim(d, h) - i_obs(d, h)|``. Simple, but it
  rewards runs that spread little (a run that infects the wrong neighbours pays twice),
  so it underestimates dispersal.

Rejection (:func:`calibrate`)
-----------------------------
``n_simulations`` draws from the prior; the ``accept_fraction`` with the smallest
distance are kept (at least ``min_accepted``) with equal weights; the threshold ``ε``
is the largest accepted distance.

Sequential update (:func:`update_posterior`)
--------------------------------------------
New days are assimilated without refitting: the current posterior is the prior of the
new data, ``p(θ | old, new) ∝ p(θ | old) L_new(θ)``. As in ABC-SMC / population Monte
Carlo (Beaumont et al. 2009), proposals are drawn from the particles by weight and
perturbed by a Gaussian kernel (diagonal, twice the weighted variance per transformed
dimension, wrapped for circular ones); draws outside the prior support are redrawn.
The old posterior's density is approximated by a Gaussian kernel density estimate over
its particles (bandwidth: Silverman's rule per dimension), so the importance weight of
a proposal is ``w ∝ KDE_old(θ) / q(θ)`` with ``q(θ) = Σ_j w_j K(θ | θ_j)``. Only the new
days ``(start_day, end_day]`` enter the distance (simulated from the observed state on
``start_day``, by default the end of the window the posterior was fitted on). The
accepted fraction with the smallest distances keeps its importance weights.

Growth measured directly
------------------------
:func:`estimate_growth_rate` measures ``growth_rate_per_day`` from observed days
(precision-weighted logit slopes): growth is visible in every infected tier long
before spread is, so the hindcast fixes it this way and leaves ABC the dispersal.

Uncertain starting states
-------------------------
When the series carries an observation noise (``series.noise_sd > 0``, see
:meth:`~geo.forecast.observed.ObservedSeries.with_detection_floor`), each simulation
starts from :meth:`~geo.forecast.observed.ObservedSeries.draw_state` rather than the
observed state itself, as forecasts do.

Every draw comes from ``numpy.random.default_rng(seed)``: the same seed gives the same
posterior.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter
from geo.forecast.model import Hosts, SpreadParams, run
from geo.forecast.observed import ObservedSeries

__all__ = [
    "BLIGHTED_INTENSITY",
    "DEFAULT_PRIORS",
    "GROWTH_RATE_PRIOR",
    "INFECTED_INTENSITY",
    "WIND_KAPPA_PRIOR",
    "GrowthEstimate",
    "Posterior",
    "Prior",
    "abc_distance",
    "calibrate",
    "estimate_growth_rate",
    "update_posterior",
]

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[float], None]
Distance = Literal["summary", "mae"]

INFECTED_INTENSITY = 0.02
"""Intensity above which a tier counts as infected in the summary statistics."""

BLIGHTED_INTENSITY = 0.2
"""Intensity above which a tier counts as blighted in the summary statistics."""


@dataclass(frozen=True)
class Prior:
    """An independent prior of one :class:`SpreadParams` field.

    Attributes
    ----------
    name : str
        Field of :class:`SpreadParams`.
    low, high : float
        Support (both > 0 when ``log``).
    log : bool
        Log-uniform when True, uniform otherwise.
    circular : bool
        The parameter is an angle in degrees of period ``high - low``.
    """

    name: str
    low: float
    high: float
    log: bool = False
    circular: bool = False

    def __post_init__(self) -> None:
        if self.name not in SpreadParams.__dataclass_fields__:
            raise InvalidParameter("must name a SpreadParams field", "prior.name")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise InvalidParameter("must satisfy low < high (finite)", "prior")
        if self.log and self.low <= 0.0:
            raise InvalidParameter("log-uniform bounds must be > 0", "prior.low")

    @property
    def bounds(self) -> tuple[float, float]:
        """Support in the transformed space."""
        if self.log:
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def to_value(self, u: float) -> float:
        """Transformed value back to the parameter's units."""
        return math.exp(u) if self.log else u


DEFAULT_PRIORS: tuple[Prior, ...] = (
    Prior("reproductive_rate", 0.5, 50.0, log=True),
    Prior("short_scale_m", 2.0, 200.0, log=True),
    Prior("long_fraction", 0.0, 0.3),
    Prior("wind_dir_deg", -180.0, 180.0, circular=True),
)
"""The default priors (see the module docstring)."""

WIND_KAPPA_PRIOR = Prior("wind_kappa", 0.0, 4.0)
"""Optional prior of the von Mises concentration of the wind bearing."""

GROWTH_RATE_PRIOR = Prior("growth_rate_per_day", 0.02, 1.0, log=True)
"""Optional prior of the logistic growth rate of intensity, per day."""


def _quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, q * cum[-1]))
    return float(values[order][min(k, values.size - 1)])


@dataclass(frozen=True, eq=False)
class Posterior:
    """Weighted ABC particles of the calibrated parameters.

    Attributes
    ----------
    names : tuple of str
        Parameter names, the columns of ``samples``.
    samples : numpy.ndarray of float, shape (k, p)
        Accepted parameter values, in their units. Read-only.
    weights : numpy.ndarray of float, shape (k,)
        Normalised importance weights (equal after rejection). Read-only.
    distances : numpy.ndarray of float, shape (k,)
        ABC distance of each accepted particle.
    threshold : float
        Acceptance threshold ``ε`` (largest accepted distance).
    n_simulations : int
        Model runs spent on this posterior (by the last fit or update only).
    start_day, end_day : int
        Window of the series whose days ``(start_day, end_day]`` were the data.
    priors : tuple of Prior
    base : SpreadParams
        Values of the parameters that were not calibrated.
    distance : {"summary", "mae"}
        The ABC distance used.
    """

    names: tuple[str, ...]
    samples: FloatArray
    weights: FloatArray
    distances: FloatArray
    threshold: float
    n_simulations: int
    start_day: int
    end_day: int
    priors: tuple[Prior, ...]
    base: SpreadParams
    distance: Distance = "summary"

    def __post_init__(self) -> None:
        for name in ("samples", "weights", "distances"):
            arr = np.array(getattr(self, name), dtype=np.float64)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    def params(self, k: int) -> SpreadParams:
        """The parameters of particle ``k``."""
        values: dict[str, Any] = {
            n: float(v) for n, v in zip(self.names, self.samples[k], strict=True)
        }
        return replace(self.base, **values)

    def sample_params(self, rng: np.random.Generator) -> SpreadParams:
        """Draw one particle by weight and return its :class:`SpreadParams`."""
        return self.params(int(rng.choice(self.weights.size, p=self.weights)))

    def summary(self) -> dict[str, dict[str, float]]:
        """Weighted mean and 5/50/95 % quantiles per parameter."""
        out: dict[str, dict[str, float]] = {}
        for j, name in enumerate(self.names):
            col = self.samples[:, j]
            out[name] = {
                "mean": float(np.sum(self.weights * col)),
                "p05": _quantile(col, self.weights, 0.05),
                "p50": _quantile(col, self.weights, 0.5),
                "p95": _quantile(col, self.weights, 0.95),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: names, samples, weights, threshold, budget and summary."""
        return {
            "names": list(self.names),
            "samples": self.samples.tolist(),
            "weights": self.weights.tolist(),
            "distances": self.distances.tolist(),
            "threshold": float(self.threshold),
            "n_simulations": int(self.n_simulations),
            "start_day": int(self.start_day),
            "end_day": int(self.end_day),
            "distance": self.distance,
            "summary": self.summary(),
        }


def _window(series: ObservedSeries, hosts: Hosts, start_day: int, end_day: int | None) -> int:
    if series.n != hosts.n:
        raise InvalidParameter("must have one column per host", "series")
    end = series.days - 1 if end_day is None else end_day
    if not 0 <= start_day < end <= series.days - 1:
        raise InvalidParameter("need 0 <= start_day < end_day < series.days", "end_day")
    if not series.observed_mask[start_day + 1 : end + 1].any():
        raise InvalidParameter("no observed cell in the window", "series")
    return end


def _summaries(hosts: Hosts, values: FloatArray, seen: npt.NDArray[np.bool_]) -> FloatArray:
    """(days, 4) summary statistics of intensities on the observed cells (see the module)."""
    v = np.where(seen, values, 0.0)
    count = np.maximum(seen.sum(axis=1), 1)
    low = ((v > INFECTED_INTENSITY) & seen).sum(axis=1) / count
    high = ((v > BLIGHTED_INTENSITY) & seen).sum(axis=1) / count
    mean = v.sum(axis=1) / count
    xy = np.column_stack((hosts.x_m, hosts.y_m))
    scale = math.sqrt(float(np.mean(np.sum((xy - xy.mean(axis=0)) ** 2, axis=1)))) or 1.0
    mass = v.sum(axis=1)
    safe = np.where(mass > 0.0, mass, 1.0)
    centre = (v @ xy) / safe[:, None]
    sq = (xy[None, :, 0] - centre[:, None, 0]) ** 2 + (xy[None, :, 1] - centre[:, None, 1]) ** 2
    radius = np.sqrt(np.sum(v * sq, axis=1) / safe) / scale
    return np.column_stack((low, high, mean, radius))


def abc_distance(
    hosts: Hosts,
    series: ObservedSeries,
    params: SpreadParams,
    start_day: int,
    end_day: int,
    seed: int | np.random.SeedSequence,
    distance: Distance = "summary",
) -> float:
    """ABC distance of one simulation to the observed days (see the module docstring)."""
    if series.noise_sd > 0.0:
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        init_seq, run_seq = seq.spawn(2)
        start = series.draw_state(start_day, np.random.default_rng(init_seq))
        sim = run(hosts, start, params, end_day - start_day, run_seq)[1:]
    else:
        sim = run(hosts, series.state(start_day), params, end_day - start_day, seed)[1:]
    if series.detection_floor > 0.0:
        # The observation model the series went through: undetected below the floor.
        sim = np.where(sim < series.detection_floor, 0.0, sim)
    obs = series.intensity[start_day + 1 : end_day + 1]
    seen = ~np.isnan(obs)
    if distance == "mae":
        return float(np.mean(np.abs(sim[seen] - obs[seen])))
    diff = _summaries(hosts, sim, seen) - _summaries(hosts, obs, seen)
    return float(np.mean(np.sum(np.abs(diff), axis=1)))


@dataclass(frozen=True)
class GrowthEstimate:
    """Logistic growth rate of intensity measured from observed days.

    Attributes
    ----------
    rate_per_day : float
        Precision-weighted mean of the logit slopes, per day (>= 0).
    n_pairs : int
        Number of (host, day, later day) slopes it is the mean of.
    p25, p75 : float
        Unweighted quartiles of the slopes, per day (their spread between hosts).
    se_per_day : float
        Standard error of ``rate_per_day``: the weighted standard deviation of the
        slopes over the square root of their effective number ``(Σw)² / Σw²``.
    """

    rate_per_day: float
    n_pairs: int
    p25: float
    p75: float
    se_per_day: float = 0.0

    def combined(self, prior_mean: float, prior_sd: float) -> float:
        """Posterior mean of the rate under a normal prior (normal-normal update).

        ``(m0 / s0² + r / se²) / (1 / s0² + 1 / se²)``, clipped at 0: a rate from few
        noisy slopes leans on the prior (e.g. from earlier outbreaks), one from many
        stands on its own.
        """
        if prior_sd <= 0.0:
            return max(prior_mean, 0.0)
        if self.se_per_day <= 0.0:
            return self.rate_per_day
        w0, w1 = prior_sd**-2, self.se_per_day**-2
        return max((prior_mean * w0 + self.rate_per_day * w1) / (w0 + w1), 0.0)


def estimate_growth_rate(
    series: ObservedSeries,
    end_day: int,
    start_day: int = 0,
    min_intensity: float | None = None,
    max_intensity: float = 0.95,
    max_gap_days: int = 3,
    min_pairs: int = 5,
) -> GrowthEstimate | None:
    """The model's ``growth_rate_per_day`` measured directly on days ``[start_day, end_day]``.

    In the model a tier's intensity grows logistically, so its logit grows linearly,
    ``logit i(d + g) - logit i(d) = g r (1 - protection)``. Each host observed on two
    days ``g <= max_gap_days`` apart (drones pass every other day) with intensities in
    ``[min_intensity, max_intensity]`` on both gives one slope. With an additive
    observation noise the logit's error grows as ``1 / (i (1 - i))`` near 0, so the
    slopes are averaged with weights ``g² / (1/(a(1-a))² + 1/(b(1-b))²)`` (inverse
    variance for intensities ``a`` then ``b``): values near the detection floor, whose
    selection also biases slopes upwards, count little. Clipped at 0.

    This is direct and needs no simulation. ABC of the growth rate on an early outbreak
    is biased low on the demo district (0.05-0.1 per day where tiers grow at 0.3-0.6):
    phantom infections drawn from the observation noise make fast growth look like
    too much blight, and ABC shrinks it.

    Parameters
    ----------
    series : ObservedSeries
    end_day, start_day : int
        Only days within ``[start_day, end_day]`` are read.
    min_intensity : float, optional
        Least intensity of a usable observation; default ``max(series.detection_floor,
        0.02)`` (below it, noise dominates the logit).
    max_intensity : float
        Largest usable intensity (the logit saturates near 1).
    max_gap_days : int
        Largest gap between the two days of a slope (>= 1).
    min_pairs : int
        Fewest slopes for an estimate (>= 1).

    Returns
    -------
    GrowthEstimate or None
        None when fewer than ``min_pairs`` slopes are available.

    Raises
    ------
    InvalidParameter
        On a window outside the series or a count below 1.
    """
    if not 0 <= start_day <= end_day < series.days:
        raise InvalidParameter("need 0 <= start_day <= end_day < series.days", "end_day")
    if max_gap_days < 1:
        raise InvalidParameter("must be >= 1", "max_gap_days")
    if min_pairs < 1:
        raise InvalidParameter("must be >= 1", "min_pairs")
    low = max(series.detection_floor, 0.02) if min_intensity is None else min_intensity
    x = series.intensity[start_day : end_day + 1]
    usable = ~np.isnan(x) & (x >= low) & (x <= max_intensity)
    safe = np.where(usable, x, 0.5)
    logit = np.log(safe / (1.0 - safe))
    inv_var = (safe * (1.0 - safe)) ** 2  # 1 / variance of the logit, up to noise²
    slopes: list[FloatArray] = []
    weights: list[FloatArray] = []
    for gap in range(1, min(max_gap_days, x.shape[0] - 1) + 1):
        pair = usable[:-gap] & usable[gap:]
        slopes.append(((logit[gap:] - logit[:-gap]) / gap)[pair])
        var = 1.0 / inv_var[:-gap] + 1.0 / inv_var[gap:]
        weights.append((gap * gap / var)[pair])
    if not slopes:  # a one-day window
        return None
    slope, weight = np.concatenate(slopes), np.concatenate(weights)
    if slope.size < min_pairs:
        return None
    rate = float(np.sum(weight * slope) / np.sum(weight))
    q25, q75 = np.quantile(slope, [0.25, 0.75])
    sd = math.sqrt(float(np.sum(weight * (slope - rate) ** 2) / np.sum(weight)))
    n_eff = float(np.sum(weight)) ** 2 / float(np.sum(weight**2))
    return GrowthEstimate(
        max(rate, 0.0), int(slope.size), float(q25), float(q75), sd / math.sqrt(n_eff)
    )


def _check_budget(n_simulations: int, accept_fraction: float, min_accepted: int) -> int:
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, int) or n_simulations < 2:
        raise InvalidParameter("must be an integer >= 2", "n_simulations")
    if not 0.0 < accept_fraction <= 1.0:
        raise InvalidParameter("must be within (0, 1]", "accept_fraction")
    if min_accepted < 1:
        raise InvalidParameter("must be >= 1", "min_accepted")
    return min(n_simulations, max(min_accepted, math.ceil(accept_fraction * n_simulations)))


def _simulate_all(
    hosts: Hosts,
    series: ObservedSeries,
    thetas: FloatArray,
    priors: Sequence[Prior],
    base: SpreadParams,
    window: tuple[int, int],
    seeds: list[np.random.SeedSequence],
    progress: Progress | None,
    distance: Distance,
) -> tuple[FloatArray, FloatArray]:
    """Values (parameter units) and distances of transformed particles ``thetas``."""
    values = np.empty_like(thetas)
    dist = np.empty(thetas.shape[0])
    for i, row in enumerate(thetas):
        values[i] = [p.to_value(float(u)) for p, u in zip(priors, row, strict=True)]
        fields: dict[str, Any] = {p.name: float(v) for p, v in zip(priors, values[i], strict=True)}
        params = replace(base, **fields)
        dist[i] = abc_distance(hosts, series, params, window[0], window[1], seeds[i], distance)
        if progress is not None:
            progress((i + 1) / thetas.shape[0])
    return values, dist


def calibrate(
    hosts: Hosts,
    series: ObservedSeries,
    *,
    base: SpreadParams | None = None,
    priors: Sequence[Prior] = DEFAULT_PRIORS,
    start_day: int = 0,
    end_day: int | None = None,
    n_simulations: int = 300,
    accept_fraction: float = 0.05,
    min_accepted: int = 10,
    seed: int = 0,
    distance: Distance = "summary",
    progress: Progress | None = None,
) -> Posterior:
    """ABC rejection of the spread parameters on days ``(start_day, end_day]``.

    Parameters
    ----------
    hosts : Hosts
    series : ObservedSeries
        One column per host.
    base : SpreadParams, optional
        Values of the parameters not calibrated (default ``SpreadParams()``).
    priors : sequence of Prior
        One per calibrated parameter (default :data:`DEFAULT_PRIORS`).
    start_day, end_day : int
        Simulations start from the observed state on ``start_day``; days after it up to
        ``end_day`` (default: the last day) are the data.
    n_simulations : int
        Prior draws, one model run each.
    accept_fraction : float
        Fraction of draws kept, those with the smallest distance.
    min_accepted : int
        Least number of particles kept.
    seed : int
    distance : {"summary", "mae"}
        The ABC distance (see the module docstring).
    progress : callable, optional
        Called with the completed fraction in (0, 1] after every simulation.

    Returns
    -------
    Posterior

    Raises
    ------
    InvalidParameter
        On an empty window, mismatched series or budget out of range.
    """
    base = SpreadParams() if base is None else base
    priors = tuple(priors)
    end = _window(series, hosts, start_day, end_day)
    keep = _check_budget(n_simulations, accept_fraction, min_accepted)
    ss = np.random.SeedSequence(seed)
    draw_seq, *run_seqs = ss.spawn(n_simulations + 1)
    rng = np.random.default_rng(draw_seq)
    lows, highs = np.array([p.bounds for p in priors]).T
    thetas = rng.uniform(lows, highs, size=(n_simulations, len(priors)))
    values, dist = _simulate_all(
        hosts, series, thetas, priors, base, (start_day, end), run_seqs, progress, distance
    )
    best = np.argsort(dist, kind="stable")[:keep]
    return Posterior(
        names=tuple(p.name for p in priors),
        samples=values[best],
        weights=np.full(keep, 1.0 / keep),
        distances=dist[best],
        threshold=float(dist[best].max()),
        n_simulations=n_simulations,
        start_day=start_day,
        end_day=end,
        priors=priors,
        base=base,
        distance=distance,
    )


def _transform(posterior: Posterior) -> FloatArray:
    cols = [
        np.log(posterior.samples[:, j]) if p.log else posterior.samples[:, j]
        for j, p in enumerate(posterior.priors)
    ]
    return np.column_stack(cols)


def _diff(a: FloatArray, b: FloatArray, priors: Sequence[Prior]) -> FloatArray:
    """Pairwise differences ``a[i] - b[j]``, wrapped for circular dimensions."""
    d = a[:, None, :] - b[None, :, :]
    for j, p in enumerate(priors):
        if p.circular:
            period = p.high - p.low
            d[..., j] = (d[..., j] + period / 2.0) % period - period / 2.0
    return d


def _mixture(
    x: FloatArray, centres: FloatArray, w: FloatArray, sd: FloatArray, priors: Sequence[Prior]
) -> FloatArray:
    """Density of the Gaussian mixture ``Σ_j w_j N(x | centres_j, diag(sd²))``."""
    z = _diff(x, centres, priors) / sd
    log_k = -0.5 * np.sum(z * z, axis=2) - np.sum(np.log(sd))
    return np.asarray(np.exp(log_k) @ w, dtype=np.float64)


def _propose(
    rng: np.random.Generator,
    centres: FloatArray,
    w: FloatArray,
    sd: FloatArray,
    priors: Sequence[Prior],
    size: int,
) -> FloatArray:
    """Perturbed particles inside the prior support (rejection of outside draws)."""
    lows, highs = np.array([p.bounds for p in priors]).T
    circ = np.array([p.circular for p in priors])
    out = np.empty((0, centres.shape[1]))
    while out.shape[0] < size:
        pick = rng.choice(w.size, size=size, p=w)
        prop = centres[pick] + rng.normal(0.0, sd, size=(size, sd.size))
        prop[:, circ] = (prop[:, circ] - lows[circ]) % (highs[circ] - lows[circ]) + lows[circ]
        inside = np.all((prop >= lows) & (prop <= highs), axis=1)
        out = np.vstack((out, prop[inside]))
    return out[:size]


def update_posterior(
    posterior: Posterior,
    hosts: Hosts,
    series: ObservedSeries,
    *,
    start_day: int | None = None,
    end_day: int | None = None,
    n_simulations: int = 100,
    accept_fraction: float = 0.2,
    min_accepted: int = 10,
    seed: int = 0,
    progress: Progress | None = None,
) -> Posterior:
    """Assimilate new days into ``posterior`` by one ABC-SMC step (see the module).

    Parameters
    ----------
    posterior : Posterior
        The current posterior, the prior of the new data.
    hosts : Hosts
    series : ObservedSeries
        The series extended with the new days (same hosts and start).
    start_day : int, optional
        Simulations start from the observed state on this day, default
        ``posterior.end_day``; only days ``(start_day, end_day]`` are data.
    end_day : int, optional
        Default: the last day of ``series``.
    n_simulations : int
        Proposals, one model run each (default 100, a third of :func:`calibrate`'s).
    accept_fraction, min_accepted, seed, progress
        As in :func:`calibrate`; the distance is ``posterior.distance``.

    Returns
    -------
    Posterior
        With ``n_simulations`` the runs spent on this update.

    Raises
    ------
    InvalidParameter
        On an empty window, mismatched series or budget out of range.
    """
    start = posterior.end_day if start_day is None else start_day
    end = _window(series, hosts, start, end_day)
    keep = _check_budget(n_simulations, accept_fraction, min_accepted)
    priors = posterior.priors
    centres = _transform(posterior)
    w = posterior.weights / posterior.weights.sum()
    mean = w @ centres
    var = w @ (_diff(centres, mean[None, :], priors)[:, 0, :] ** 2)
    span = np.array([b - a for a, b in (p.bounds for p in priors)])
    floor = (1e-3 * span) ** 2
    var = np.maximum(var, floor)
    k, dim = centres.shape
    kde_sd = np.sqrt(var) * (4.0 / ((dim + 2.0) * k)) ** (1.0 / (dim + 4.0))
    kernel_sd = np.sqrt(2.0 * var)
    ss = np.random.SeedSequence(seed)
    draw_seq, *run_seqs = ss.spawn(n_simulations + 1)
    rng = np.random.default_rng(draw_seq)
    thetas = _propose(rng, centres, w, kernel_sd, priors, n_simulations)
    weights = _mixture(thetas, centres, w, kde_sd, priors) / _mixture(
        thetas, centres, w, kernel_sd, priors
    )
    values, dist = _simulate_all(
        hosts,
        series,
        thetas,
        priors,
        posterior.base,
        (start, end),
        run_seqs,
        progress,
        posterior.distance,
    )
    best = np.argsort(dist, kind="stable")[:keep]
    kept = weights[best]
    total = float(kept.sum())
    kept = kept / total if math.isfinite(total) and total > 0.0 else np.full(keep, 1.0 / keep)
    return Posterior(
        names=posterior.names,
        samples=values[best],
        weights=kept,
        distances=dist[best],
        threshold=float(dist[best].max()),
        n_simulations=n_simulations,
        start_day=start,
        end_day=end,
        priors=priors,
        base=posterior.base,
        distance=posterior.distance,
    )
