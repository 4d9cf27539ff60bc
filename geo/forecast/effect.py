"""Whether a treatment can matter to the towers it protects.

A comparison of two scenarios says how many towers the alternative saves; when it says
none, the planner needs to know why. For each tower the alternative protects more than
the baseline (``extra protection > 0`` on some tier and day), the baseline forecast
decides:

* ``already_certain``: the tower's probability of blight is at least ``certain`` on
  the day its extra protection starts: it is blighted (or will be) whatever is sprayed;
  protection slows growth, it does not cure;
* ``out_of_reach``: the tower's probability stays at most ``unreachable`` over the
  whole horizon without the treatment: there is nothing to save there;
* ``can_matter``: otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import InvalidParameter

__all__ = ["treatment_effect"]

FloatArray = npt.NDArray[np.float64]


def treatment_effect(
    tower_ids: tuple[str, ...],
    tower_index: npt.NDArray[np.int64],
    baseline_probability: FloatArray,
    extra_protection: FloatArray,
    certain: float = 0.95,
    unreachable: float = 0.05,
) -> dict[str, Any]:
    """Classify the towers an alternative protects (see the module docstring).

    Parameters
    ----------
    tower_ids : tuple of str
    tower_index : numpy.ndarray of int, shape (n,)
        Tower of each host.
    baseline_probability : numpy.ndarray, shape (days + 1, len(tower_ids))
        The baseline's tower probabilities, day 0 first.
    extra_protection : numpy.ndarray, shape (days + 1, n)
        Alternative minus baseline protection of each host per day.
    certain, unreachable : float

    Returns
    -------
    dict
        ``treated_towers`` (count), ``can_matter``, ``already_certain``,
        ``out_of_reach`` (tower ids) and a ``summary`` sentence.

    Raises
    ------
    InvalidParameter
        On arrays of mismatched shapes or levels outside [0, 1].
    """
    days = baseline_probability.shape[0]
    if baseline_probability.shape != (days, len(tower_ids)):
        raise InvalidParameter("must have one column per tower", "baseline_probability")
    if extra_protection.shape != (days, tower_index.size):
        raise InvalidParameter("must have one column per host", "extra_protection")
    if not 0.0 <= unreachable < certain <= 1.0:
        raise InvalidParameter("need 0 <= unreachable < certain <= 1", "certain")
    more = extra_protection > 1e-9
    groups: dict[str, list[str]] = {"can_matter": [], "already_certain": [], "out_of_reach": []}
    for t, tower in enumerate(tower_ids):
        hosts = tower_index == t
        days_on = np.flatnonzero(more[:, hosts].any(axis=1))
        if days_on.size == 0:
            continue
        if baseline_probability[days_on[0], t] >= certain:
            groups["already_certain"].append(tower)
        elif baseline_probability[:, t].max() <= unreachable:
            groups["out_of_reach"].append(tower)
        else:
            groups["can_matter"].append(tower)
    treated = sum(len(v) for v in groups.values())
    if treated == 0:
        summary = "the alternative protects no tower more than the baseline"
    elif not groups["can_matter"]:
        summary = (
            f"the treatment cannot matter: of {treated} treated towers, "
            f"{len(groups['already_certain'])} are already certain to be blighted "
            f"(p >= {certain}) and {len(groups['out_of_reach'])} are out of reach of the "
            f"blight (p <= {unreachable} all along)"
        )
    else:
        summary = (
            f"{len(groups['can_matter'])} of {treated} treated towers are at risk and "
            f"not yet certain: the treatment can change their outcome"
        )
    return {"treated_towers": treated, **groups, "summary": summary}
