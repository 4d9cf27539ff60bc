"""The served field against well-fitted ordinary kriging on public data with a known truth.

scikit-gstat's offline images (``skgstat.data.pancake_field``, ``aniso_field``: 500 x
500, exhaustive truth) are sampled at ``N`` random pixels (``skgstat.data.pancake(N,
seed)``); the grey values / 255 go through :func:`~geo.interpolate.interpolate` as the
service runs it (``method="auto"``), and, as baselines, through IDW (``method="idw"``)
and the ordinary kriging of other libraries: scikit-gstat fits spherical and
exponential variograms (15 lags up to the median distance; the better fit kept) and
PyKrige kriges with every sample. All are scored by RMSE on every 4th pixel of the
truth, in grey levels. The test suite checks the N = 300, seed 42 case of each image
(``tests/geo/interpolate/test_public_data.py``).

    .venv/bin/python bench/bench_field_accuracy.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import skgstat
import skgstat.data
from numpy.typing import NDArray
from pykrige.ok import OrdinaryKriging
from pyproj import CRS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.grid import GridSpec
from geo.interpolate import InterpolationResult, Samples, interpolate

FloatArray = NDArray[np.float64]
ORIGIN = np.array([500_000.0, 5_800_000.0])
SPEC = GridSpec.covering(CRS.from_epsg(32631), (*ORIGIN, *(ORIGIN + 10.0)), 5.0)
CASES = [(300, 42), (500, 42), (400, 3), (200, 7)]


def run(xy: FloatArray, grey: FloatArray, targets: FloatArray, method: str) -> InterpolationResult:
    x, y = (xy + ORIGIN).T
    samples = Samples.from_arrays(x, y, grey / 255.0, z_m=np.zeros(len(grey)))
    extra = np.column_stack((targets + ORIGIN, np.zeros(len(targets))))
    return interpolate(samples, SPEC, extra, method=method)


def reference(xy: FloatArray, grey: FloatArray, targets: FloatArray) -> tuple[FloatArray, str]:
    fits = []
    for model in ("spherical", "exponential"):
        v = skgstat.Variogram(xy, grey, model=model, n_lags=15, maxlag="median")
        rng, sill, nugget = (float(x) for x in v.parameters[:3])
        fits.append((v.rmse, model, {"psill": sill, "range": rng, "nugget": nugget}))
    _, model, params = min(fits, key=lambda f: f[0])
    ok = OrdinaryKriging(
        xy[:, 0], xy[:, 1], grey, variogram_model=model, variogram_parameters=params
    )
    z, _ = ok.execute("points", targets[:, 0], targets[:, 1], backend="vectorized")
    return np.asarray(z), model


def rmse(z: FloatArray, truth: FloatArray) -> float:
    return float(np.sqrt(np.mean((z - truth) ** 2)))


def main() -> None:
    warnings.simplefilter("ignore")
    ii, jj = np.meshgrid(np.arange(2, 500, 4), np.arange(2, 500, 4), indexing="ij")
    targets = np.column_stack((ii.ravel(), jj.ravel())).astype(np.float64)
    print("| image | N, seed | reference OK | served | served / reference | IDW | served choice |")
    print("|---|---|---|---|---|---|---|")
    for name in ("pancake", "aniso"):
        truth_image = np.asarray(getattr(skgstat.data, f"{name}_field")()["sample"], float)
        truth = truth_image[ii.ravel(), jj.ravel()]
        for n, seed in CASES:
            xy_int, grey_int = getattr(skgstat.data, name)(N=n, seed=seed)["sample"]
            xy, grey = np.asarray(xy_int, float), np.asarray(grey_int, float)
            ref, model = reference(xy, grey, targets)
            served = run(xy, grey, targets, "auto")
            idw = run(xy, grey, targets, "idw")
            r_ref, r_served = rmse(ref, truth), rmse(255.0 * served.targets_value, truth)
            p = served.parameters
            print(
                f"| {name} | {n}, {seed} | {r_ref:.2f} ({model}) | {r_served:.2f} | "
                f"{r_served / r_ref:.3f} | {rmse(255.0 * idw.targets_value, truth):.2f} | "
                f"{served.method}, {p.get('model')}, nugget {p.get('nugget', 0):.3g}, "
                f"eps {p.get('logit_eps')} |"
            )


if __name__ == "__main__":
    main()
