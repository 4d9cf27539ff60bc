r"""Ground-truth blight outbreaks for demos and for scoring forecasts honestly.

This simulator is deliberately independent of the project's forecasting model: it is an
individual-plant, wind-driven spore model, whereas the forecast works with aggregate
Poisson spore counts, distance kernels and von Mises wind directions. Histories made
here are the truth that forecasts are scored against, so the two must not share code.

Model
-----
Every tier :math:`k` of every tower holds :math:`N` plants (``plants_per_tier``). Plant
:math:`i` carries a blight load :math:`L_{ki} \in [0, 1]`; the *intensity* of the tier
is the mean load :math:`I_k = \frac1N \sum_i L_{ki}`. Time advances in steps of
:math:`\Delta t` (``step_hours``, 1 h by default). In each step:

1. **Shedding.** Tier :math:`k` emits :math:`Q_k = q \sum_i L_{ki}` spores/s
   (:math:`q` = ``spores_per_load_s``).
2. **Wind.** The wind blows from :math:`\theta_t = \bar\theta + D_t` at speed
   :math:`u_t = \max(u_{min}, \tilde u\, e^{S_t} (1 + A \cos 2\pi (h_t - h_p)/24))`,
   with :math:`D` and :math:`S` independent AR(1) series, the exact discretisation of
   Ornstein-Uhlenbeck processes: :math:`X_t = \phi X_{t-1} + \sigma\sqrt{1-\phi^2}
   \varepsilon_t`, :math:`\phi = e^{-\Delta t/\tau}`.
3. **Plume transport between towers.** Spores leave a tier at its height and travel as
   a Gaussian plume with ground reflection. For a receiver at downwind distance
   :math:`s > 0`, crosswind offset :math:`c` and heights :math:`z_s, z_r` (ellipsoidal)
   / :math:`h_s, h_r` (above ground)

   .. math::
       \frac{C}{Q} = \frac{e^{-c^2/2\sigma_y^2}}{2\pi u \sigma_y \sigma_z}
       \left[e^{-(z_r-z_s)^2/2\sigma_z^2} + e^{-(h_r+h_s)^2/2\sigma_z^2}\right]

   in s/m^3, with Briggs urban (McElroy-Pooler, neutral) spreads that grow with the
   travel distance, :math:`\sigma = \sqrt{\sigma_0^2 + (a s / \sqrt{1 + b s})^2}`.
   Upwind receivers and the source's own tower get nothing from the plume.
   The dose on one plant of a receiving tier is :math:`C v_d A \Delta t` spores
   (deposition velocity :math:`v_d`, exposed leaf area :math:`A`).
4. **Airflow inside a tower.** A plant also receives
   :math:`\Delta t\,(f_0 Q_k + f_\uparrow Q_{k-1} + f_\downarrow Q_{k+1}) / N` spores: a
   share :math:`f_0` of its own tier's spores settles back on the tier, and the tower's
   airflow carries shares :math:`f_\uparrow, f_\downarrow` to the tiers above / below.
5. **Infection.** A healthy plant on tier :math:`k` is infected with probability
   :math:`1 - \exp(-p\, d_k\, \chi_k (1 - \beta M_k))` where :math:`d_k` is the dose,
   :math:`p` = ``infection_per_spore``, :math:`\chi_k` the susceptibility of the crop
   and :math:`M_k` the tier's microbial balance; it starts at load :math:`L_0`.
6. **Growth and recovery.** Infected loads grow logistically at the plant's own rate
   :math:`r_{ki}` (log-normal around ``growth_rate_per_day``), solved exactly over the
   step; loads below ``recovery_load`` then decay by :math:`e^{-\rho M_k \Delta t}`, and
   loads below ``clear_load`` are cleared.
7. **Microbial balance** drifts as an OU process around the tier's baseline and is
   damaged by blight: :math:`dM = (\mu_k - M)/\tau_M\,dt - \delta I_k\,dt + \sigma_M dW`,
   clipped to [0, 1].

The outbreak starts ``days`` before ``end`` on one random tier of each of 1 to
``index_towers_max`` index towers, where ``index_plants`` plants carry about
``index_load`` and the microbial balance is poor (``index_balance``).

Reports
-------
The truth is reported as a real deployment would (see :class:`OutbreakConfig`): fixed
sensors on a third of the tiers every 6 h, drone passes every 2 days over half of the
towers (top tiers, with a height), a few reports a day by people (quantized to 0.1,
drawn to tiers where blight shows) and an external model every 12 h on some tiers.

Randomness
----------
``seed`` feeds a ``numpy.random.SeedSequence`` that is split into two independent
generators, one for the truth and one for the reports: changing a report parameter never
changes the truth. The same towers, ``end``, ``days``, ``seed`` and config give
identical histories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from geo.demo._epidemic import Layout, run_epidemic
from geo.demo._plume import wind_series
from geo.demo._reports import report_observations
from geo.demo.config import OutbreakConfig
from geo.layer import Tower
from geo.observations import Observation

__all__ = ["OutbreakConfig", "OutbreakHistory", "history_truth_at", "simulate_outbreak"]


@dataclass(frozen=True)
class OutbreakHistory:
    """The true course of one simulated outbreak and its reports.

    Attributes
    ----------
    times : tuple of datetime
        UTC times of the steps; ``times[0]`` is the start, ``times[-1]`` the end.
    intensity : ndarray of shape (n_steps, n_tiers)
        True intensity (mean plant load, 0..1) of each tier at each step. Read-only.
    tier_index : tuple of (str, int)
        ``(tower_id, level)`` of each column, towers in input order, levels upwards.
    microbial_balance : ndarray of shape (n_steps, n_tiers)
        True microbial balance (0..1) of each tier at each step. Read-only.
    observations : list of Observation
        The reports, ordered by ``observed_at`` then ``id``.
    wind_speed_m_s, wind_from_deg : ndarray of shape (n_steps,)
        The wind during the step ending at each time (speed, direction blown from).
    index_tiers : tuple of (str, int)
        Where the outbreak started.
    seed : int
    config : OutbreakConfig
    """

    times: tuple[datetime, ...]
    intensity: NDArray[np.float64]
    tier_index: tuple[tuple[str, int], ...]
    microbial_balance: NDArray[np.float64]
    observations: list[Observation]
    wind_speed_m_s: NDArray[np.float64]
    wind_from_deg: NDArray[np.float64]
    index_tiers: tuple[tuple[str, int], ...]
    seed: int
    config: OutbreakConfig = field(repr=False)

    def tower_intensity(self, step: int = -1) -> dict[str, float]:
        """Highest tier intensity of every tower at ``step`` (default: the last one)."""
        out: dict[str, float] = {}
        for (tower_id, _), value in zip(self.tier_index, self.intensity[step], strict=True):
            out[tower_id] = max(out.get(tower_id, 0.0), float(value))
        return out


def simulate_outbreak(
    towers: Sequence[Tower],
    *,
    end: datetime,
    days: int = 14,
    seed: int = 11,
    config: OutbreakConfig | None = None,
) -> OutbreakHistory:
    """Simulate a blight outbreak over ``towers`` for ``days`` days up to ``end``.

    Parameters
    ----------
    towers : sequence of Tower
        The district; ids must be unique and every tower needs at least one tier.
    end : datetime
        Timezone-aware end of the simulation (converted to UTC).
    days : int
        Length of the simulation, days; the outbreak starts ``days`` before ``end``.
    seed : int
        Seed of all randomness (truth and reports).
    config : OutbreakConfig, optional
        Model and reporting parameters; defaults to ``OutbreakConfig()``.

    Returns
    -------
    OutbreakHistory

    Raises
    ------
    ValueError
        If ``end`` is naive, ``days < 1``, there are no towers, a tower has no tiers
        or two towers share an id.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from geo.demo import demo_towers
    >>> history = simulate_outbreak(demo_towers(), end=datetime(2026, 6, 1, tzinfo=UTC))
    >>> len(history.times)
    337
    """
    cfg = OutbreakConfig() if config is None else config
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    if days < 1:
        raise ValueError("days must be at least 1")
    layout = Layout.build(towers, cfg)
    end_utc = end.astimezone(UTC)
    start = end_utc - timedelta(days=days)
    n_steps = round(days * 24 / cfg.step_hours) + 1
    step = timedelta(hours=cfg.step_hours)
    times = tuple(start + k * step for k in range(n_steps))

    truth_seq, report_seq = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(truth_seq)
    wind = wind_series(rng, list(times), cfg.step_hours, cfg.wind_params())
    run = run_epidemic(rng, layout, wind, cfg)
    observations = report_observations(
        np.random.default_rng(report_seq),
        layout,
        times,
        run.intensity,
        run.balance,
        cfg,
    )
    for array in (run.intensity, run.balance, wind.speed_m_s, wind.from_deg):
        array.setflags(write=False)
    return OutbreakHistory(
        times=times,
        intensity=run.intensity,
        tier_index=layout.tier_index,
        microbial_balance=run.balance,
        observations=observations,
        wind_speed_m_s=wind.speed_m_s,
        wind_from_deg=wind.from_deg,
        index_tiers=tuple(layout.tier_index[k] for k in run.index_tiers),
        seed=seed,
        config=cfg,
    )


def history_truth_at(history: OutbreakHistory, moment: datetime) -> dict[tuple[str, int], float]:
    """True intensity of every tier at ``moment``, interpolated linearly between steps.

    Parameters
    ----------
    history : OutbreakHistory
    moment : datetime
        Timezone-aware, within ``[history.times[0], history.times[-1]]``.

    Returns
    -------
    dict
        ``{(tower_id, level): intensity}`` for every tier.

    Raises
    ------
    ValueError
        If ``moment`` is naive or outside the simulated window.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    start, stop = history.times[0], history.times[-1]
    if not start <= moment <= stop:
        raise ValueError("moment lies outside the simulated window")
    step_s = (history.times[1] - start).total_seconds()
    position = (moment - start).total_seconds() / step_s
    i = min(int(position), len(history.times) - 2)
    w = position - i
    values = (1.0 - w) * history.intensity[i] + w * history.intensity[i + 1]
    return {key: float(v) for key, v in zip(history.tier_index, values, strict=True)}
