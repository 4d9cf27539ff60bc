"""Bounded intensities: kriging in logit space and the back-transform of mean and variance.

Blight intensities live in [0, 1]; kriging them as they are gives values below 0 and
above 1 near steep edges. Instead the values are mapped to the real line by a logit
of the interval shrunk by ``eps`` at both ends (so that exact 0s and 1s stay finite)::

    y = logit(eps + (1 - 2 eps) p)        h(y) = (expit(y) - eps) / (1 - 2 eps)

``h`` undoes the map exactly. The values are kriged as ``y``; a target's Gaussian
prediction ``Y ~ N(m, s^2)`` is mapped back with its whole distribution, as the
intensity ``P = clip(h(Y), 0, 1)`` (``h`` reaches slightly beyond [0, 1]; an
intensity cannot)::

    mean = E[P]            variance = E[P^2] - mean^2

computed by Gauss-Legendre quadrature of ``h`` and ``h^2`` against the normal density
between the two places where ``h`` leaves [0, 1], plus the probability of the top
(accurate to ~1e-10). The mean lies within [0, 1] (strictly inside for ``s > 0``), the
variance is that of the back-transformed prediction, so its square root is an honest
standard error in intensity units, and ``s = 0`` gives ``clip(h(m))``: a sample's own
value at its own place.

>>> t = LogitTransform(eps=0.01)
>>> mean, var = t.back(t.forward(np.array([0.0, 0.5, 1.0])), np.zeros(3))
>>> mean.round(12).tolist(), var.tolist()
([0.0, 0.5, 1.0], [0.0, 0.0, 0.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.polynomial.legendre import leggauss
from numpy.typing import NDArray
from scipy.special import expit, logit, ndtr

from geo.errors import GeoError
from geo.interpolate.base import Interpolator

__all__ = ["DEFAULT_EPS", "EPS_CANDIDATES", "LogitTransform", "TransformedModel"]

FloatArray = NDArray[np.float64]

DEFAULT_EPS = 0.01
"""[0, 1] is shrunk to [eps, 1 - eps] before the logit: 0 becomes logit(0.01) = -4.6."""

EPS_CANDIDATES = (0.01, 0.02, 0.05, 0.1, 0.2)
"""Clipping margins tried when none is given: small ones keep the contrast of faint
blight, larger ones stop a crowd of exact zeros from dominating the variogram."""

_NODES, _WEIGHTS = leggauss(64)
_Z_MAX = 9.0
"""Standard normal quantiles beyond +-9 carry < 1e-18 of the mass."""


@dataclass(frozen=True)
class LogitTransform:
    """``y = logit(clip(p, eps, 1 - eps))`` and its distributional inverse.

    Attributes
    ----------
    eps : float
        In (0, 0.5): how far from 0 and 1 the values are moved before the logit.
    """

    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.eps) and 0.0 < self.eps < 0.5):
            raise GeoError("must be in (0, 0.5)", "eps")

    @staticmethod
    def applies_to(values: FloatArray) -> bool:
        """Whether all ``values`` are intensities in [0, 1]."""
        return bool(values.size) and float(values.min()) >= 0.0 and float(values.max()) <= 1.0

    def forward(self, values: FloatArray) -> FloatArray:
        """``logit(eps + (1 - 2 eps) p)``.

        Raises
        ------
        GeoError
            If a value is outside [0, 1] (``field="values"``).
        """
        p = np.asarray(values, dtype=np.float64)
        if not self.applies_to(p.ravel()):
            raise GeoError("must be intensities within [0, 1] for the logit transform", "values")
        out: FloatArray = logit(self.eps + (1.0 - 2.0 * self.eps) * p)
        return out

    def h(self, y: FloatArray) -> FloatArray:
        """The exact inverse of :meth:`forward` (reaches ``eps / (1 - 2 eps)`` beyond [0, 1])."""
        out: FloatArray = (expit(y) - self.eps) / (1.0 - 2.0 * self.eps)
        return out

    def back(self, mean: FloatArray, variance: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Mean and variance of ``clip(h(Y), 0, 1)`` for ``Y ~ N(mean, variance)``.

        Elementwise; negative variances (round-off) count as 0. Works in chunks of
        targets to bound memory.
        """
        m = np.asarray(mean, dtype=np.float64).ravel()
        s = np.sqrt(np.maximum(np.asarray(variance, dtype=np.float64), 0.0)).ravel()
        out_mean, out_var = np.empty(m.shape), np.empty(m.shape)
        low, high = logit(self.eps), logit(1.0 - self.eps)  # where h is 0 and 1
        step = 32_768
        for start in range(0, m.size, step):
            rows = slice(start, start + step)
            mr, sr = m[rows], s[rows]
            spread = sr > 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                z_low = np.where(spread, (low - mr) / sr, 0.0)
                z_high = np.where(spread, (high - mr) / sr, 0.0)
            z_low = np.clip(z_low, -_Z_MAX, _Z_MAX)
            z_high = np.clip(z_high, -_Z_MAX, _Z_MAX)
            half = 0.5 * (z_high - z_low)
            z = 0.5 * (z_high + z_low)[:, None] + half[:, None] * _NODES
            w = half[:, None] * _WEIGHTS * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
            hz = self.h(mr[:, None] + sr[:, None] * z)
            top = ndtr(-z_high)  # P(h(Y) > 1)
            first = np.einsum("ij,ij->i", w, hz) + top
            second = np.einsum("ij,ij->i", w, hz * hz) + top
            exact = np.clip(self.h(mr), 0.0, 1.0)
            out_mean[rows] = np.where(spread, np.clip(first, 0.0, 1.0), exact)
            out_var[rows] = np.where(spread, np.maximum(second - first * first, 0.0), 0.0)
        shape = np.shape(mean)
        return out_mean.reshape(shape), out_var.reshape(shape)

    def parameters(self) -> dict[str, Any]:
        """JSON-safe description."""
        return {"transform": "logit", "logit_eps": float(self.eps)}


class TransformedModel:
    """A method fitted to transformed values, answering on the original scale.

    Estimates, variances and leave-one-out predictions of ``inner`` (fitted to
    ``transform.forward(values)``) are mapped back with :meth:`LogitTransform.back`;
    ``values`` are the original ones, so cross-validation scores compare like with
    like.
    """

    def __init__(self, inner: Interpolator, values: FloatArray, transform: LogitTransform) -> None:
        self.inner = inner
        self.transform = transform
        self.name = inner.name
        self.has_kriging_variance = inner.has_kriging_variance
        self.coords = inner.coords
        self.weights = inner.weights
        self.values = np.asarray(values, dtype=np.float64)
        self._loo: tuple[FloatArray, FloatArray] | None = None

    def __len__(self) -> int:
        return len(self.inner)

    def predict(self, targets: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Back-transformed estimates and variances."""
        return self.transform.back(*self.inner.predict(targets))

    def loo(self) -> tuple[FloatArray, FloatArray]:
        """Back-transformed leave-one-out estimates and variances (computed once)."""
        if self._loo is None:
            self._loo = self.transform.back(*self.inner.loo())
        return self._loo

    def parameters(self) -> dict[str, Any]:
        """The inner method's parameters (on the transformed scale) and the transform."""
        return {**self.inner.parameters(), **self.transform.parameters()}
