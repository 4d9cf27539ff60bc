"""``blightmap forecast``: a spread forecast of the current data, written to a directory.

Runs the same computation as ``POST /forecasts`` (calibration kept per data version in
the data directory, hindcast skill, ensemble), in this process with a progress bar,
and writes:

- ``forecast.json``: the result as the job resource shows it, with the request;
- ``fronts.geojson``: the 50 % and 90 % fronts per day (RFC 7946);
- ``probability.tif``: a COG, one float32 band per day (probability of blight);
- ``expected-towers.png``: expected blighted towers per day with the 5-95 % band.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

from service.errors import FieldError, InvalidContent, field_errors_from_pydantic
from service.schemas.forecasts import ForecastIn
from service.settings import Settings

__all__ = ["add_parser", "cmd_forecast", "plot_expected_towers"]

console = Console(stderr=True)

# command-line spelling of the request's fields, for error messages
_OPTION = {"horizon_days": "--days", "runs": "--runs", "seed": "--seed", "threshold": "--threshold"}


def add_parser(sub: Any) -> None:
    """Add ``forecast`` to the subcommands ``sub`` of the ``blightmap`` parser."""
    p = sub.add_parser("forecast", help="forecast the spread: JSON, GeoJSON, GeoTIFF, PNG")
    p.add_argument("--days", type=int, default=7, help="horizon, days (1..30)")
    p.add_argument("--runs", type=int, default=200, help="ensemble size (1..1000)")
    p.add_argument("--seed", type=int, default=1, help="root seed (same seed, same forecast)")
    p.add_argument("--threshold", type=float, default=0.5, help="blighted above this intensity")
    p.add_argument("--scenario", type=Path, help='JSON file: {"treatments": [...]} as in the API')
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--data", type=Path, help="data directory (env BLIGHTMAP_DATA_DIR)")
    p.set_defaults(func=cmd_forecast)


def _request(args: argparse.Namespace) -> ForecastIn:
    """The request of the arguments, validated as the API validates it."""
    body: dict[str, Any] = {
        "horizon_days": args.days,
        "runs": args.runs,
        "seed": args.seed,
        "threshold": args.threshold,
    }
    if args.scenario is not None:
        try:
            body["scenario"] = json.loads(Path(args.scenario).read_text())
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg}, line {exc.lineno})"
            errors = [FieldError("--scenario", reason)]
            raise InvalidContent(f"--scenario: {reason}", errors) from None
    try:
        return ForecastIn.model_validate(body)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors(include_input=False, include_url=False))
        named = [FieldError(_OPTION.get(e.field, e.field), e.reason) for e in errors]
        summary = "; ".join(f"{e.field}: {e.reason}" for e in named)
        raise InvalidContent(summary, named) from None


def plot_expected_towers(curve: list[dict[str, Any]], path: Path, title: str) -> None:
    """A PNG of the expected blighted towers per day with the 5-95 % band (matplotlib)."""
    from matplotlib.figure import Figure

    days = [c["day"] for c in curve]
    fig = Figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    ax.fill_between(
        days,
        [c["p05"] for c in curve],
        [c["p95"] for c in curve],
        alpha=0.3,
        color="tab:red",
        label="5-95 % of runs",
    )
    ax.plot(days, [c["mean"] for c in curve], color="tab:red", marker="o", label="expected")
    ax.set_xlabel("forecast day")
    ax.set_ylabel("blighted towers")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, format="png")


def cmd_forecast(args: argparse.Namespace) -> int:
    """Forecast the spread from the current data and write the four outputs to ``--out``."""
    from service.app import build_state, open_store
    from service.fields import compute_field
    from service.forecast_compute import compute_forecast
    from service.forecast_geotiff import probability_cog
    from service.forecast_inputs import build_inputs, planned_treatments

    request = _request(args)
    settings = Settings(data_dir=args.data) if args.data is not None else Settings()
    store = open_store(settings)
    try:
        state = build_state(settings, store)
        with console.status("interpolating the blight field"):
            field = compute_field(store, state.towers.current(), settings)
        planned = planned_treatments(request.scenario, "scenario", request.horizon_days, field)
        inputs = build_inputs(state, field, request, planned)
    finally:
        store.close()
    columns = (*Progress.get_default_columns()[:1], BarColumn(), TaskProgressColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("calibrating and forecasting", total=100)
        output = compute_forecast(
            inputs, lambda fraction: bar.update(task, completed=100 * fraction)
        )
        bar.update(task, completed=100)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = output.result
    document = {
        "request": request.model_dump(mode="json"),
        "data_version": field.data_version,
        "result": result,
    }
    (out / "forecast.json").write_text(json.dumps(document, indent=1, allow_nan=False))
    (out / "fronts.geojson").write_text(json.dumps(result["fronts"], allow_nan=False))
    grids = output.grids()
    tags = {"data_version": str(field.data_version), "start": str(result["start"])}
    (out / "probability.tif").write_bytes(probability_cog(grids, range(1, len(grids) + 1), tags))
    title = f"Blighted towers from {result['start'][:10]} ({request.runs} runs)"
    plot_expected_towers(result["expected_blighted_towers"], out / "expected-towers.png", title)
    last = result["expected_blighted_towers"][-1]
    console.print(
        f"day {last['day']}: {last['mean']:.1f} blighted towers expected "
        f"(5-95 %: {last['p05']:.0f}-{last['p95']:.0f}); "
        f"calibration {result['calibration'].get('status')}; wrote {out}"
    )
    return 0
