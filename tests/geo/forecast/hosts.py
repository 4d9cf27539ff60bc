"""Small synthetic host sets shared by the forecast tests."""

from __future__ import annotations

import numpy as np

from geo.forecast.model import Hosts


def grid_hosts(side: int = 8, spacing_m: float = 20.0) -> Hosts:
    """``side`` x ``side`` towers of three tiers each, ``spacing_m`` apart."""
    g = np.arange(side) * spacing_m
    gx, gy = np.meshgrid(g, g)
    n = side * side * 3
    return Hosts(
        x_m=np.repeat(gx.ravel(), 3),
        y_m=np.repeat(gy.ravel(), 3),
        z_m=np.tile([1.0, 4.0, 7.0], side * side),
        tower_index=np.repeat(np.arange(side * side), 3),
        susceptible_fraction=np.ones(n),
        protection=np.zeros(n),
        removed=np.zeros(n, bool),
        level=np.tile([0, 1, 2], side * side),
    )
