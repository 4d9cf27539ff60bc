"""Calibration records: the posterior kept per data version, in memory and on disk.

A :class:`CalibrationRecord` is what :func:`service.forecast_calibration.calibration_for`
computes for a data version; a :class:`CalibrationCache` keeps records in a dict in front
of JSON files ``v<data version>.json`` (written to a temporary name and renamed, so a
reader or another worker process never sees half a record).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from geo.errors import GeoError
from geo.forecast.calibrate import Posterior, Prior
from geo.forecast.model import SpreadParams

__all__ = ["FORMAT", "CalibrationCache", "CalibrationRecord", "cache_for"]

FORMAT = 3
"""Version of the on-disk record format."""
_KEEP_FILES = 8


@dataclass(frozen=True, eq=False)
class CalibrationRecord:
    """The posterior kept for one data version, with its lineage and cached skill.

    Attributes
    ----------
    data_version : int
    status : {"fitted", "updated", "unchanged"}
    posterior : Posterior
    series_start : datetime
        Day 0 of the history it was computed on.
    end_time : datetime
        Start of the last day assimilated (``series_start + posterior.end_day``).
    days_used : tuple of str
        ISO dates of the days this record's fit or update assimilated.
    lineage : tuple of dict
        Earlier steps (data version, status, days, simulations), oldest first.
    n_simulations : int
        Model runs spent by this step (0 when unchanged).
    limited_by_time : bool
        Whether the time budget cut the number of simulations.
    computed_at : datetime
    fingerprint : str
    detection_floor, noise_sd : float
        The observation model the posterior was computed with (intensity units).
    growth : dict or None
        How the growth rate was found: ``{"source": "measured", "rate_per_day",
        "se_per_day", "n_pairs"}`` or ``{"source": "abc"}``.
    skill : dict of str to dict
        Hindcast skill per threshold (``repr`` of the float).
    ppc : dict or None
        Posterior predictive check on the days seen
        (:func:`geo.forecast.ppc.posterior_predictive_check`).
    """

    data_version: int
    status: str
    posterior: Posterior
    series_start: datetime
    end_time: datetime
    days_used: tuple[str, ...]
    lineage: tuple[dict[str, Any], ...]
    n_simulations: int
    limited_by_time: bool
    computed_at: datetime
    fingerprint: str
    detection_floor: float = 0.0
    noise_sd: float = 0.0
    growth: dict[str, Any] | None = None
    skill: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    ppc: dict[str, Any] | None = None

    def report(self) -> dict[str, Any]:
        """The ``calibration`` of a forecast result: method, posterior mean and 90 %
        credible interval per parameter, accepted particles, days used, status."""
        post = self.posterior
        summary = post.summary()
        fixed = {
            k: v
            for k, v in dataclasses.asdict(post.base).items()
            if k not in post.names and (not isinstance(v, float) or math.isfinite(v))
        }
        name = "growth_rate_per_day"
        growth = summary[name]["mean"] if name in summary else float(post.base.growth_rate_per_day)
        return {
            "method": "abc-smc-update" if self.status == "updated" else "abc-rejection",
            "status": self.status,
            "data_version": self.data_version,
            "computed_at": _iso(self.computed_at),
            "parameters": {
                name: {
                    "mean": s["mean"],
                    "median": s["p50"],
                    "ci90": [s["p05"], s["p95"]],
                }
                for name, s in summary.items()
            },
            "fixed_parameters": fixed,
            "accepted_particles": int(post.weights.size),
            "effective_sample_size": float(1.0 / np.sum(post.weights**2)),
            "abc_threshold": float(post.threshold),
            "distance": post.distance,
            "n_simulations": self.n_simulations,
            "limited_by_time": self.limited_by_time,
            "days_used": list(self.days_used),
            "assimilated_through": self.end_time.date().isoformat(),
            "lineage": list(self.lineage),
            "observation_model": {
                "detection_floor": self.detection_floor,
                "noise_sd": self.noise_sd,
            },
            "growth_rate_per_day": {"value": growth, **(self.growth or {})},
            "posterior_predictive_check": self.ppc,
        }

    def to_json(self) -> dict[str, Any]:
        """The record as stored on disk."""
        post = self.posterior
        return {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "data_version": self.data_version,
            "status": self.status,
            "series_start": _iso(self.series_start),
            "end_time": _iso(self.end_time),
            "days_used": list(self.days_used),
            "lineage": list(self.lineage),
            "n_simulations": self.n_simulations,
            "limited_by_time": self.limited_by_time,
            "computed_at": _iso(self.computed_at),
            "detection_floor": self.detection_floor,
            "noise_sd": self.noise_sd,
            "growth": self.growth,
            "posterior": post.to_dict(),
            "priors": [dataclasses.asdict(p) for p in post.priors],
            "base": dataclasses.asdict(post.base),
            "skill": self.skill,
            "ppc": self.ppc,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalibrationRecord:
        """A record read back from :meth:`to_json` (raises on a malformed file)."""
        p = data["posterior"]
        posterior = Posterior(
            names=tuple(p["names"]),
            samples=np.asarray(p["samples"], dtype=np.float64),
            weights=np.asarray(p["weights"], dtype=np.float64),
            distances=np.asarray(p["distances"], dtype=np.float64),
            threshold=float(p["threshold"]),
            n_simulations=int(p["n_simulations"]),
            start_day=int(p["start_day"]),
            end_day=int(p["end_day"]),
            priors=tuple(Prior(**q) for q in data["priors"]),
            base=SpreadParams(**data["base"]),
            distance=p["distance"],
        )
        return cls(
            data_version=int(data["data_version"]),
            status=str(data["status"]),
            posterior=posterior,
            series_start=datetime.fromisoformat(data["series_start"]),
            end_time=datetime.fromisoformat(data["end_time"]),
            days_used=tuple(data["days_used"]),
            lineage=tuple(data["lineage"]),
            n_simulations=int(data["n_simulations"]),
            limited_by_time=bool(data["limited_by_time"]),
            computed_at=datetime.fromisoformat(data["computed_at"]),
            fingerprint=str(data["fingerprint"]),
            detection_floor=float(data["detection_floor"]),
            noise_sd=float(data["noise_sd"]),
            growth=data["growth"],
            skill=dict(data.get("skill", {})),
            ppc=data.get("ppc"),
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CalibrationCache:
    """Records by data version: a dict in memory in front of JSON files in ``directory``.

    Thread-safe; files are written to a temporary name and renamed, so a reader (or
    another worker process) never sees half a record. Only the newest files are kept.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._memory: dict[int, CalibrationRecord] = {}
        self._lock = threading.Lock()

    def _path(self, version: int) -> Path:
        assert self.directory is not None
        return self.directory / f"v{version:012d}.json"

    def _versions_on_disk(self) -> list[int]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob("v*.json"):
            with contextlib.suppress(ValueError):
                found.append(int(path.stem[1:]))
        return sorted(found)

    def get(self, version: int, fingerprint: str) -> CalibrationRecord | None:
        """The record of ``version`` made with ``fingerprint``, if any."""
        with self._lock:
            record = self._memory.get(version)
        if record is None and self.directory is not None:
            record = self._read(version)
        if record is None or record.fingerprint != fingerprint:
            return None
        with self._lock:
            self._memory[version] = record
        return record

    def _read(self, version: int) -> CalibrationRecord | None:
        try:
            data = json.loads(self._path(version).read_text())
            return CalibrationRecord.from_json(data)
        except (OSError, ValueError, KeyError, TypeError, GeoError):
            return None  # missing, half-written by an old version or from another model

    def latest_before(self, version: int, fingerprint: str) -> CalibrationRecord | None:
        """The newest record of an earlier data version made with ``fingerprint``."""
        with self._lock:
            versions = set(self._memory)
        versions.update(self._versions_on_disk())
        for v in sorted((v for v in versions if v < version), reverse=True):
            record = self.get(v, fingerprint)
            if record is not None:
                return record
        return None

    def put(self, record: CalibrationRecord) -> None:
        """Keep ``record`` in memory and on disk (atomically), pruning old files."""
        with self._lock:
            self._memory[record.data_version] = record
            for old in sorted(self._memory)[:-_KEEP_FILES]:
                del self._memory[old]
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(record.data_version)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(record.to_json(), allow_nan=False))
        os.replace(tmp, path)
        for old in self._versions_on_disk()[:-_KEEP_FILES]:
            with contextlib.suppress(OSError):
                self._path(old).unlink()


_CACHES: dict[str, CalibrationCache] = {}
_CACHES_LOCK = threading.Lock()


def cache_for(directory: Path | None) -> CalibrationCache:
    """The process-wide cache of ``directory`` (one per directory and process)."""
    key = str(directory)
    with _CACHES_LOCK:
        if key not in _CACHES:
            _CACHES[key] = CalibrationCache(directory)
        return _CACHES[key]
