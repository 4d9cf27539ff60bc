"""What a forecast job spends on calibration, on the demo district, with baselines.

In one process on the demo district (52 towers, 329 tiers, two weeks of history):

- a first fit (ABC rejection, the budget's simulations) and, for the next data version
  (one more day of observations), the **update on the new day only** against the
  baseline of **refitting from scratch** on the whole extended history;
- reading a kept record back (a restart) against fitting it again;
- the hindcast skill of a data version (computed once, then cached);
- the forecast ensemble whose runs each draw parameters from the posterior against the
  baseline of one :func:`geo.forecast.ensemble.ensemble` call with fixed parameters.

    .venv/bin/python bench/bench_forecast_calibration.py [--runs 200] [--days 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.forecast.ensemble import ensemble
from geo.forecast.model import Hosts
from service.app import build_state, open_store
from service.demo import seed_demo
from service.fields import compute_field
from service.forecast_calibration import (
    CalibrationBudget,
    calibration_for,
    observed_history,
    skill_for,
)
from service.forecast_compute import posterior_ensemble
from service.forecast_records import CalibrationCache
from service.settings import Settings
from service.store import ObservationQuery

END = datetime(2026, 11, 1, 12, tzinfo=UTC)


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    budget = CalibrationBudget(max_seconds=1e9)  # measure the budget's counts, uncut
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = open_store(settings)
        seed_demo(store, seed=7, end=END)
        state = build_state(settings, store)
        towers = list(state.towers.current().index.towers)
        field = compute_field(store, state.towers.current(), settings)
        hosts = Hosts.from_towers(towers, field.frame)

        def history() -> object:
            latest = store.latest_observation_time()
            assert latest is not None
            obs = store.query_observations(ObservationQuery(limit=10**9)).items
            return observed_history(obs, hosts, latest, budget.history_days)

        cache_dir = Path(tmp) / "calibration"
        series1 = history()
        v1 = store.data_version()
        cache = CalibrationCache(cache_dir)
        rec1, t_fit = timed(lambda: calibration_for(cache, hosts, series1, v1, budget))
        _, t_read = timed(
            lambda: calibration_for(CalibrationCache(cache_dir), hosts, series1, v1, budget)
        )
        _, t_skill = timed(lambda: skill_for(cache, rec1, hosts, series1, 0.5, budget))
        _, t_skill_again = timed(lambda: skill_for(cache, rec1, hosts, series1, 0.5, budget))

        last_day = store.query_observations(
            ObservationQuery(start=END - timedelta(hours=6), limit=10**6)
        ).items
        store.add_observations(
            [
                dataclasses.replace(
                    o, id=o.id + "-next", observed_at=o.observed_at + timedelta(days=1)
                )
                for o in last_day
            ]
        )
        series2 = history()
        v2 = store.data_version()
        rec2, t_update = timed(lambda: calibration_for(cache, hosts, series2, v2, budget))
        fresh = CalibrationCache(Path(tmp) / "fresh")  # no earlier record: a fit
        refit, t_refit = timed(lambda: calibration_for(fresh, hosts, series2, v2, budget))
        assert refit.status == "fitted"
        mean = np.array(
            [
                field.tier_values.get((hosts.tower_ids[t], int(lv)), (0.0, 0.0))[0]
                for t, lv in zip(hosts.tower_index, hosts.level, strict=True)
            ]
        )
        se = np.array(
            [
                field.tier_values.get((hosts.tower_ids[t], int(lv)), (0.0, 0.0))[1]
                for t, lv in zip(hosts.tower_index, hosts.level, strict=True)
            ]
        )
        mean, se = np.clip(np.nan_to_num(mean), 0, 1), np.clip(np.nan_to_num(se), 0, None)
        schedule = np.zeros((args.days + 1, hosts.n))
        post = rec2.posterior
        _, t_draws = timed(
            lambda: posterior_ensemble(
                hosts, mean, se, post.sample_params, args.days, args.runs, 1, 0.5, schedule
            )
        )
        fixed = post.params(int(np.argmax(post.weights)))
        _, t_same = timed(
            lambda: posterior_ensemble(
                hosts, mean, se, lambda rng: fixed, args.days, args.runs, 1, 0.5, schedule
            )
        )
        _, t_fixed = timed(
            lambda: ensemble(
                hosts, mean, se, fixed, args.days, args.runs, 1, 0.5, protection_by_day=schedule
            )
        )
        store.close()
    rows = [
        (f"first fit ({rec1.n_simulations} ABC runs)", f"{t_fit:.2f} s", ""),
        ("read back from disk (a restart)", f"{1e3 * t_read:.2f} ms", f"{t_fit / t_read:.0f}x"),
        ("hindcast skill, first", f"{t_skill:.2f} s", ""),
        ("hindcast skill, cached", f"{1e3 * t_skill_again:.3f} ms", ""),
        (f"new day: update ({rec2.n_simulations} runs)", f"{t_update:.2f} s", ""),
        (
            f"new day: refit ({budget.fit_simulations} runs, baseline)",
            f"{t_refit:.2f} s",
            f"update {t_refit / t_update:.1f}x cheaper",
        ),
        (f"ensemble {args.runs} x {args.days} d, posterior draws", f"{t_draws:.2f} s", ""),
        (
            f"ensemble {args.runs} x {args.days} d, one-run calls, fixed",
            f"{t_same:.2f} s",
            f"call overhead {t_same / t_fixed:.2f}x",
        ),
        (
            f"ensemble {args.runs} x {args.days} d, fixed (baseline)",
            f"{t_fixed:.2f} s",
            f"draws cost {t_draws / t_fixed:.2f}x",
        ),
    ]
    days = series2.days  # type: ignore[attr-defined]
    print(f"demo district: {len(towers)} towers, {hosts.n} tiers, {days} days of history")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
