"""Skill of the demo district's 7-day forecast, beside the forecast it replaces.

The demo district (``demo_towers(7)``) with independent outbreak histories from the
separate simulator (``simulate_outbreak``, 14 days each, seeds ``--seeds``; 11 is the
default demo). Reports are sensor and drone (as a deployment has them), averaged per
tier and day. Each history is hindcast at ``--horizon`` days (verified on its last
day), three ways in the same run:

- ``calibrated``: the hindcast's defaults, detection floor and observation noise from
  the first day, growth measured directly on the days up to the issue day and combined
  with a prior from the *other* histories (leave-one-out: mean and spread of their
  whole-history growth estimates, as earlier outbreaks in the district would give),
  ABC of the dispersal on the days before the issue day, starting states drawn from
  the observation error;
- ``no-prior``: the same without the growth prior (ABC of the growth when the history
  up to the issue day has fewer than 5 slopes);
- ``no-spread``: ``calibrated`` with the reproductive rate at 0 (nothing spreads): what
  the starting state and growth alone explain, to show what predicted spread adds;
- ``previous``: the former hindcast (no floor, no start uncertainty, the default
  growth rate of 0.1 per day), which produced only 0/1 probabilities.

For each, per history and pooled over histories: Brier skill score against
persistence, reliability per bin with counts and the largest gap over bins with at
least ``--min-count`` forecasts (and at least 50), ROC AUC, Pontius
quantity/allocation, MCC, and the same for the hosts not blighted on the issue day
(where persistence always says no).

    .venv/bin/python bench/bench_forecast_skill.py [--seeds 11 1 2 3 4 5] [--runs 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.crs import LocalFrame
from geo.demo import demo_towers, simulate_outbreak
from geo.forecast.calibrate import DEFAULT_PRIORS, estimate_growth_rate
from geo.forecast.hindcast import HorizonHindcast, Verification, hindcast, pool
from geo.forecast.model import Hosts, SpreadParams
from geo.forecast.observed import ObservedSeries, daily_tier_states, noise_floor

END = datetime(2026, 6, 1, tzinfo=UTC)
STRICT_COUNT = 50
"""A second bin size for the largest reliability gap: a bin of 20 forecasts at p = 0.2
has a binomial standard error of 0.09, one of 50 of 0.057."""
DAYS = 14


@dataclass(frozen=True)
class Variant:
    """One way of hindcasting."""

    name: str
    kwargs: dict[str, Any]


VARIANTS = (
    Variant("calibrated", {}),
    Variant("no-prior", {}),
    Variant(
        "no-spread",
        {"base": SpreadParams(reproductive_rate=0.0), "priors": DEFAULT_PRIORS[1:2]},
    ),
    Variant(
        "previous",
        {"detection_floor": None, "noise_sd": 0.0, "growth": "fixed"},
    ),
)


def demo_series(hosts: Hosts, seed: int) -> ObservedSeries:
    """Daily per-tier sensor and drone intensities of one demo outbreak history."""
    towers = demo_towers()
    history = simulate_outbreak(towers, end=END, days=DAYS, seed=seed)
    reports = [o for o in history.observations if o.source in ("sensor", "drone")]
    return daily_tier_states(reports, hosts, history.times[0], days=DAYS, aggregate="mean")


def demo_hosts() -> Hosts:
    """One host per tier of the default demo district."""
    towers = demo_towers()
    frame = LocalFrame.for_geometries([t.footprint_wgs84 for t in towers])
    return Hosts.from_towers(towers, frame)


def whole_history_growth(series: ObservedSeries) -> float:
    """Growth rate measured on a whole history (for the other histories' prior)."""
    floored = series.with_detection_floor(min(noise_floor(series), 0.1))
    estimate = estimate_growth_rate(floored, series.days - 1)
    if estimate is None:
        raise SystemExit("a history without growth to measure")
    return estimate.rate_per_day


def run_variant(
    hosts: Hosts,
    series: ObservedSeries,
    variant: Variant,
    args: argparse.Namespace,
    growth_prior: tuple[float, float],
) -> HorizonHindcast:
    """One hindcast at ``args.horizon`` days."""
    kwargs: dict[str, Any] = {"n_simulations": args.simulations, "min_count": args.min_count}
    if variant.name in ("calibrated", "no-spread"):
        kwargs["growth_prior"] = growth_prior
    kwargs.update(variant.kwargs)
    report = hindcast(hosts, series, [args.horizon], args.runs, seed=3, calibrate_days=6, **kwargs)
    return report.horizons[0]


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}"


def describe(label: str, v: Verification, horizon: int, min_count: int) -> list[str]:
    """Lines of the report of one verification."""
    s = v.skill(horizon, min_count)
    rel = v.reliability(min_count)
    lines = [
        f"{label}: n {s.n}, events {int(v.outcome.sum())}, expected "
        f"{v.probability.sum():.1f}; BSS {_f(s.bss)} (Brier {s.brier:.4f} vs persistence "
        f"{s.brier_persistence:.4f}), AUC {_f(s.auc)}, reliability max gap "
        f"{_f(rel.max_gap)} (bins with >= {min_count}), "
        f"{_f(v.reliability(STRICT_COUNT).max_gap)} (bins with >= {STRICT_COUNT}), "
        f"quantity {s.quantity:.3f}, "
        f"allocation {s.allocation:.3f}, MCC {_f(s.mcc)}; probabilities strictly in "
        f"(0.05, 0.95): {v.probabilistic_share():.0%}",
    ]
    for g in v.groups()[1:]:
        lines.append(
            f"    {g.group:<22} n {g.n:4d} events {g.events:3d} expected "
            f"{g.expected_events:6.1f}  BSS {_f(g.bss)}  AUC {_f(g.auc)}"
        )
    return lines


def reliability_table(v: Verification, min_count: int) -> list[str]:
    """Reliability per bin: mean forecast, observed frequency, count."""
    rel = v.reliability(min_count)
    rows = ["    bin         mean p   observed   count   gap"]
    for k in range(rel.count.size):
        lo, hi = rel.edges[k], rel.edges[k + 1]
        if rel.count[k] == 0:
            rows.append(f"    [{lo:.1f}, {hi:.1f})     -          -       0")
            continue
        gap = abs(rel.observed_frequency[k] - rel.mean_forecast[k])
        mark = "" if rel.count[k] >= min_count else "  (too few)"
        rows.append(
            f"    [{lo:.1f}, {hi:.1f})   {rel.mean_forecast[k]:.3f}     "
            f"{rel.observed_frequency[k]:.3f}   {rel.count[k]:5d}   {gap:.3f}{mark}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 1, 2, 3, 4, 5])
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--simulations", type=int, default=300)
    parser.add_argument("--min-count", type=int, default=20)
    args = parser.parse_args()
    if len(set(args.seeds)) < 3:
        parser.error("--seeds needs at least 3 histories (the growth prior leaves one out)")
    hosts = demo_hosts()
    results: dict[str, list[Verification]] = {v.name: [] for v in VARIANTS}
    seconds: dict[str, float] = dict.fromkeys(results, 0.0)
    histories = {seed: demo_series(hosts, seed) for seed in args.seeds}
    measured = {seed: whole_history_growth(s) for seed, s in histories.items()}
    for seed, series in histories.items():
        others = np.array([g for s, g in measured.items() if s != seed])
        prior = (float(others.mean()), float(others.std(ddof=1)))
        print(f"growth prior from the other histories: {prior[0]:.3f} +- {prior[1]:.3f}/day")
        for variant in VARIANTS:
            t0 = time.perf_counter()
            h = run_variant(hosts, series, variant, args, prior)
            seconds[variant.name] += time.perf_counter() - t0
            assert h.verification is not None
            results[variant.name].append(h.verification)
            if variant.name in ("calibrated", "no-prior"):
                summary = h.posterior.summary()
                growth = summary.get("growth_rate_per_day", {}).get(
                    "p50", h.posterior.base.growth_rate_per_day
                )
                print(
                    f"{variant.name}, history seed {seed}: issued day {h.issued_day}, floor "
                    f"{h.detection_floor:.3f}, noise sd {h.noise_sd:.3f}, growth "
                    f"{growth:.3f}/day, posterior p50 "
                    + ", ".join(f"{k} {v['p50']:.3g}" for k, v in summary.items())
                )
            lines = describe(variant.name, h.verification, args.horizon, args.min_count)
            print("  " + "\n  ".join(lines))
    print(f"\npooled over {len(args.seeds)} histories, horizon {args.horizon} days:")
    for variant in VARIANTS:
        v = pool(results[variant.name])
        print("  " + "\n  ".join(describe(variant.name, v, args.horizon, args.min_count)))
        print("\n".join(reliability_table(v, args.min_count)))
        new = v.subset(v.group_mask("not_blighted_at_issue"))
        print("  " + describe("  not blighted at issue", new, args.horizon, args.min_count)[0])
        print(f"  time {seconds[variant.name]:.1f} s for {len(args.seeds)} hindcasts")


if __name__ == "__main__":
    main()
