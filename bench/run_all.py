"""Run every benchmark in turn (``make bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in (
    "bench_ingest.py",
    "bench_bbox.py",
    "bench_idw.py",
    "bench_kriging.py",
    "bench_field_update.py",
    "bench_stream.py",
    "bench_forecast_speed.py",
    "bench_forecast_skill.py",
    "bench_forecast_calibration.py",
    "bench_forecast_city.py",
    "bench_forecast_sbc.py",
    "bench_forecast_worlds.py",
    "bench_tiles.py",
    "bench_exports.py",
):
    print(f"## {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
