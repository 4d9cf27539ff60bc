"""Parameters of the demo outbreak simulator and of its reporting network.

All defaults are tuned so that, for the default district (:func:`geo.demo.demo_towers`)
and a range of seeds, a 14-day outbreak started from one or two towers ends with a
minority-to-majority of towers visibly blighted and some towers still clean. The model
itself is described in :mod:`geo.demo.outbreak` and ``docs/outbreak-simulator.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from geo.demo._plume import PlumeParams, WindParams

__all__ = ["DEFAULT_CROP_SUSCEPTIBILITY", "OutbreakConfig"]

DEFAULT_CROP_SUSCEPTIBILITY: tuple[tuple[str, float], ...] = (
    ("basil", 1.4),
    ("lettuce", 1.3),
    ("spinach", 1.2),
    ("tomato", 1.2),
    ("strawberry", 1.0),
    ("rocket", 0.9),
    ("pak choi", 0.9),
    ("kale", 0.7),
    ("mint", 0.6),
    ("microgreens", 0.5),
)
"""Relative susceptibility of each crop (dimensionless, 1 = reference)."""

# Members that must lie in [0, 1]; every other numeric member must be > 0 unless it is
# listed in _MAY_BE_ZERO.
_FRACTIONS = (
    "initial_load",
    "recovery_load",
    "clear_load",
    "same_tier_fraction",
    "tier_up_fraction",
    "tier_down_fraction",
    "balance_protection",
    "index_load",
    "index_balance",
    "sensor_tier_fraction",
    "sensor_confidence",
    "sensor_dropout",
    "drone_tower_fraction",
    "drone_confidence",
    "person_confidence",
    "model_tier_fraction",
    "model_confidence",
    "diurnal_amplitude",
)
_MAY_BE_ZERO = (
    "growth_rate_sd_log",
    "recovery_rate_per_day",
    "balance_tier_sd",
    "balance_noise_per_sqrt_day",
    "balance_damage_per_day",
    "wind_direction_sd_deg",
    "wind_speed_sd_log",
    "wind_from_mean_deg",
    "diurnal_peak_hour_utc",
    "sensor_noise_sd",
    "sensor_bias_sd",
    "sensor_balance_noise_sd",
    "drone_noise_sd",
    "drone_hour_utc",
    "person_reports_per_day",
    "person_noise_sd",
    "person_attention",
    "person_jitter_m",
    "model_noise_sd",
    "model_lag_hours",
)


@dataclass(frozen=True)
class OutbreakConfig:
    """Every parameter of :func:`geo.demo.simulate_outbreak`, with units.

    Time stepping
        step_hours : h. Length of one simulation step; 24 must be a multiple of it.

    Plants
        plants_per_tier : count. Plants on every tier.
        growth_rate_per_day : 1/day. Median logistic growth rate of a plant's load.
        growth_rate_sd_log : -. Log-normal spread of the growth rate between plants.
        initial_load : load (0..1). Load of a newly infected plant.
        recovery_load : load. Below this load a plant can fight the infection back.
        recovery_rate_per_day : 1/day. Decay rate of a low load, times the tier's
            microbial balance.
        clear_load : load. A load that falls below this is cleared (plant healthy).

    Spores
        spores_per_load_s : spores/s. Spores shed by a plant of load 1 (proportional).
        infection_per_spore : -. Probability that one deposited spore infects a
            healthy plant of susceptibility 1 with a microbial balance of 0.
        same_tier_fraction : -. Share of a tier's spores that settle back on it.
        tier_up_fraction, tier_down_fraction : -. Share carried by the tower's airflow
            to the tier just above / just below.
        deposition_velocity_m_s : m/s. Deposition velocity of airborne spores.
        capture_area_m2 : m^2. Leaf area of one plant exposed to the air.
        crop_susceptibility : (crop, factor) pairs; unknown crops count as 1.

    Microbial balance (0..1, 1 = healthy microbiome)
        balance_alpha, balance_beta : -. Beta distribution of a tower's mean balance.
        balance_tier_sd : -. Spread of the tiers of one tower around its mean.
        balance_protection : -. Infection hazard is multiplied by
            ``1 - balance_protection * balance``.
        balance_reversion_days : day. Time constant of the drift back to the baseline.
        balance_noise_per_sqrt_day : 1/sqrt(day). Random drift.
        balance_damage_per_day : 1/day. Decline per day at a tier load of 1.

    Wind
        wind_from_mean_deg : deg from north. Prevailing direction the wind blows from.
        wind_direction_sd_deg : deg. Stationary spread of the direction.
        wind_direction_corr_hours : h. Correlation time of the direction.
        wind_speed_median_m_s : m/s. Median speed.
        wind_speed_sd_log : -. Stationary spread of log speed.
        wind_speed_corr_hours : h. Correlation time of the speed.
        diurnal_amplitude : -. Relative amplitude of the daily speed cycle.
        diurnal_peak_hour_utc : h. Hour of the daily speed maximum.
        min_wind_m_s : m/s. Floor of the speed (the plume needs advection).

    Plume
        sigma0_m : m. Initial size of the spore cloud leaving a tier.
        sigma_y_a, sigma_y_b, sigma_z_a, sigma_z_b : -, 1/m. Briggs urban dispersion:
            ``sigma = a s / sqrt(1 + b s)`` at downwind distance ``s``.
        max_range_m : m. Plume cut-off distance.

    Start of the outbreak
        index_towers_max : count. 1 to this many index towers.
        index_plants : count. Plants infected on the index tier.
        index_load : load. Their mean load.
        index_balance : -. Microbial balance of the index tier (where blight broke out).

    Reports
        sensor_tier_fraction : -. Tiers with a fixed sensor.
        sensor_interval_hours : h. Sensor reporting interval.
        sensor_noise_sd, sensor_bias_sd, sensor_balance_noise_sd : load / balance units.
        sensor_confidence, sensor_dropout : -. Confidence; share of lost reports.
        drone_interval_days : day. Days between drone passes.
        drone_hour_utc : h. Take-off hour of a pass.
        drone_seconds_per_tower : s. Flight time from one tower to the next.
        drone_tower_fraction : -. Towers overflown on one pass.
        drone_top_tiers : count. Top tiers seen from the air.
        drone_noise_sd, drone_confidence : load, -.
        person_reports_per_day : 1/day. Mean number of reports by people.
        person_hours_utc : (h, h). Window of the day in which people report.
        person_noise_sd, person_confidence : load, -. Values are quantized to 0.1.
        person_attention : -. A tier at load L is ``1 + attention * L`` times as likely
            to be reported on.
        person_jitter_m : m. Position error of a person's report.
        model_tier_fraction : -. Tiers covered by the external model.
        model_interval_hours : h. Model run interval (aligned to 00 and 12 UTC).
        model_lag_hours : h. Age of the data the model run reflects.
        model_noise_sd, model_confidence : load, -.
    """

    step_hours: float = 1.0

    plants_per_tier: int = 32
    growth_rate_per_day: float = 0.9
    growth_rate_sd_log: float = 0.3
    initial_load: float = 0.02
    recovery_load: float = 0.12
    recovery_rate_per_day: float = 1.2
    clear_load: float = 0.005

    spores_per_load_s: float = 1000.0
    infection_per_spore: float = 3.0e-4
    same_tier_fraction: float = 0.1
    tier_up_fraction: float = 0.03
    tier_down_fraction: float = 0.01
    deposition_velocity_m_s: float = 0.01
    capture_area_m2: float = 0.05
    crop_susceptibility: tuple[tuple[str, float], ...] = DEFAULT_CROP_SUSCEPTIBILITY

    balance_alpha: float = 5.0
    balance_beta: float = 1.9
    balance_tier_sd: float = 0.06
    balance_protection: float = 0.95
    balance_reversion_days: float = 4.0
    balance_noise_per_sqrt_day: float = 0.02
    balance_damage_per_day: float = 0.15

    wind_from_mean_deg: float = 240.0
    wind_direction_sd_deg: float = 75.0
    wind_direction_corr_hours: float = 8.0
    wind_speed_median_m_s: float = 4.5
    wind_speed_sd_log: float = 0.3
    wind_speed_corr_hours: float = 10.0
    diurnal_amplitude: float = 0.25
    diurnal_peak_hour_utc: float = 13.0
    min_wind_m_s: float = 0.5

    sigma0_m: float = 4.0
    sigma_y_a: float = 0.16
    sigma_y_b: float = 4.0e-4
    sigma_z_a: float = 0.14
    sigma_z_b: float = 3.0e-4
    max_range_m: float = 1500.0

    index_towers_max: int = 2
    index_plants: int = 6
    index_load: float = 0.15
    index_balance: float = 0.35

    sensor_tier_fraction: float = 1.0 / 3.0
    sensor_interval_hours: float = 6.0
    sensor_noise_sd: float = 0.03
    sensor_bias_sd: float = 0.01
    sensor_balance_noise_sd: float = 0.02
    sensor_confidence: float = 0.9
    sensor_dropout: float = 0.03
    drone_interval_days: float = 2.0
    drone_hour_utc: float = 9.0
    drone_seconds_per_tower: float = 45.0
    drone_tower_fraction: float = 0.5
    drone_top_tiers: int = 2
    drone_noise_sd: float = 0.08
    drone_confidence: float = 0.7
    person_reports_per_day: float = 4.0
    person_hours_utc: tuple[float, float] = (7.0, 20.0)
    person_noise_sd: float = 0.12
    person_confidence: float = 0.5
    person_attention: float = 8.0
    person_jitter_m: float = 5.0
    model_tier_fraction: float = 0.15
    model_interval_hours: float = 12.0
    model_lag_hours: float = 6.0
    model_noise_sd: float = 0.05
    model_confidence: float = 0.6

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                continue
            if f.name in _FRACTIONS and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be within [0, 1]")
            if f.name in _MAY_BE_ZERO and not value >= 0.0:
                raise ValueError(f"{f.name} must not be negative")
            if f.name not in _FRACTIONS and f.name not in _MAY_BE_ZERO and not value > 0:
                raise ValueError(f"{f.name} must be positive")
        if (24.0 / self.step_hours) % 1.0:
            raise ValueError("step_hours must divide 24")
        lo, hi = self.person_hours_utc
        if not 0.0 <= lo < hi <= 24.0:
            raise ValueError("person_hours_utc must be an increasing pair within [0, 24]")

    def susceptibility(self, crop: str) -> float:
        """Relative susceptibility of ``crop`` (1.0 when it is not listed)."""
        return dict(self.crop_susceptibility).get(crop, 1.0)

    def wind_params(self) -> WindParams:
        """The wind-process parameters."""
        return WindParams(
            from_mean_deg=self.wind_from_mean_deg,
            direction_sd_deg=self.wind_direction_sd_deg,
            direction_corr_hours=self.wind_direction_corr_hours,
            speed_median_m_s=self.wind_speed_median_m_s,
            speed_sd_log=self.wind_speed_sd_log,
            speed_corr_hours=self.wind_speed_corr_hours,
            diurnal_amplitude=self.diurnal_amplitude,
            diurnal_peak_hour_utc=self.diurnal_peak_hour_utc,
            min_speed_m_s=self.min_wind_m_s,
        )

    def plume_params(self) -> PlumeParams:
        """The plume parameters."""
        return PlumeParams(
            sigma0_m=self.sigma0_m,
            sigma_y_a=self.sigma_y_a,
            sigma_y_b=self.sigma_y_b,
            sigma_z_a=self.sigma_z_a,
            sigma_z_b=self.sigma_z_b,
            max_range_m=self.max_range_m,
        )
