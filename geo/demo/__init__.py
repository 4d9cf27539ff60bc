"""Demo data: a synthetic farm-tower district and ground-truth blight outbreaks.

A pure library (numpy, shapely, pyproj): :func:`demo_towers` lays out a
Utrecht-Binnenstad-like district, :func:`simulate_outbreak` runs an individual-plant,
wind-driven spore model over it and reports the truth the way sensors, drones, people
and an external model would. Everything is reproducible from explicit seeds.
"""

from geo.demo.config import DEFAULT_CROP_SUSCEPTIBILITY, OutbreakConfig
from geo.demo.district import CROPS, DEMO_DISTRICT, demo_towers
from geo.demo.outbreak import OutbreakHistory, history_truth_at, simulate_outbreak

__all__ = [
    "CROPS",
    "DEFAULT_CROP_SUSCEPTIBILITY",
    "DEMO_DISTRICT",
    "OutbreakConfig",
    "OutbreakHistory",
    "demo_towers",
    "history_truth_at",
    "simulate_outbreak",
]
