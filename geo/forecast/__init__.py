"""Forecasting of blight spread (a PoPS-style stochastic model on tower tiers).

Modules:

- :mod:`~geo.forecast.model`: hosts (one per tower tier), spread parameters (Poisson
  spores, Cauchy/exponential short and long kernels, von Mises wind, a vertical kernel
  within towers, latency, logistic growth, protection by treatments) and one day's step;
- :mod:`~geo.forecast.ensemble`: Monte Carlo ensembles whose runs draw their start from
  the interpolated field's standard error; daily probabilities, quantiles and the
  blighted-tower curve with its 5-95 % band;
- :mod:`~geo.forecast.skill`: Brier score and skill against persistence, reliability,
  ROC AUC, Pontius quantity/allocation disagreement, Matthews correlation;
- :mod:`~geo.forecast.observed`: observations as daily per-tier states, with a
  detection floor and the observation noise carried into drawn starting states;
- :mod:`~geo.forecast.calibrate`: ABC calibration (rejection, then ABC-SMC updates with
  new days only) of reproductive rate, kernel scale, long-range fraction and wind; the
  growth rate measured directly from observed logit slopes;
- :mod:`~geo.forecast.hindcast`: calibrate up to T-h, forecast h days, score against
  persistence per horizon and per group of hosts (blighted or not at issue), pooled
  over histories (see ``docs/forecast-validation.md``);
- :mod:`~geo.forecast.runs`: the served ensemble: each run draws its parameters,
  process noise, start and observation error; a tower is blighted when any tier is;
- :mod:`~geo.forecast.uncertainty`: growth rate draws and process noise measured from
  observed slopes;
- :mod:`~geo.forecast.rolling` and :mod:`~geo.forecast.blend`: the rolling hindcast of
  the spread model, growth only and persistence, and what is served per horizon;
- :mod:`~geo.forecast.ppc`, :mod:`~geo.forecast.sbc`: posterior predictive check and
  simulation-based calibration;
- :mod:`~geo.forecast.effect`: whether a treatment can matter to the towers it treats;
- :mod:`~geo.forecast.fronts`: 50 %/90 % probability fronts per day;
- :mod:`~geo.forecast.scenario`: planned treatments as per-day host protection;
- :mod:`~geo.forecast.grid_model`: the same spread on the ground grid, cells with a
  host density (PoPS' representation), vectorised, with process-parallel ensembles (no
  endpoint runs it).

The service serves it as ``POST /forecasts`` jobs (:mod:`service.forecasts`). The model never
reads :mod:`geo.demo`, whose simulator is the ground truth forecasts are scored on.
"""

from geo.forecast.grid_ensemble import GridEnsembleResult, run_grid_ensemble
from geo.forecast.grid_model import GridParams, GridRun, HostGrid, run_grid
from geo.forecast.skill import (
    Disagreement,
    ReliabilityCurve,
    SkillReport,
    brier_score,
    brier_skill_score,
    matthews_corrcoef,
    pontius_disagreement,
    reliability,
    roc_auc,
    skill_report,
)

__all__ = [
    "Disagreement",
    "GridEnsembleResult",
    "GridParams",
    "GridRun",
    "HostGrid",
    "ReliabilityCurve",
    "SkillReport",
    "brier_score",
    "brier_skill_score",
    "matthews_corrcoef",
    "pontius_disagreement",
    "reliability",
    "roc_auc",
    "run_grid",
    "run_grid_ensemble",
    "skill_report",
]
