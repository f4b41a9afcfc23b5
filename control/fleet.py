"""The fleet of data centres as arrays in config order, and the state carried between steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.settings import Settings


@dataclass(frozen=True)
class Fleet:
    """Static site data as numpy arrays (index k is ``names[k]``)."""

    names: list[str]
    regions: list[str]
    gpu_count: np.ndarray
    """GPUs per site."""
    throughput: np.ndarray
    """Reference-GPU hours delivered per GPU-hour on each site."""
    gpu_it_mw: np.ndarray
    """IT power of one busy GPU (incl. host share) [MW]."""
    pue: np.ndarray

    @property
    def gpu_facility_mw(self) -> np.ndarray:
        """Facility power of one busy GPU (IT x PUE) [MW]."""
        return self.gpu_it_mw * self.pue

    @classmethod
    def from_settings(cls, settings: Settings) -> Fleet:
        models = settings.gpu_models
        return cls(
            names=[s.name for s in settings.sites],
            regions=[s.region for s in settings.sites],
            gpu_count=np.array([s.gpu_count for s in settings.sites], dtype=float),
            throughput=np.array([models[s.gpu_model].throughput for s in settings.sites], dtype=float),
            gpu_it_mw=np.array([models[s.gpu_model].power_kw / 1000.0 for s in settings.sites], dtype=float),
            pue=np.array([s.pue for s in settings.sites], dtype=float),
        )


@dataclass(frozen=True)
class FleetState:
    """What the controller knows at the start of a step.

    ``jobs`` holds the released, unfinished jobs (the job-table columns plus
    ``remaining_gpu_h`` and ``site``, where the job last ran, or "" if it has not run);
    ``upcoming`` holds jobs not yet released (release > now), which a planner may use.
    """

    now: pd.Timestamp
    fleet: Fleet
    jobs: pd.DataFrame
    upcoming: pd.DataFrame
    gpu_available: pd.DataFrame | None = None
    """GPUs in service per hour and site (hourly UTC index x site); None = all, always."""

    def gpus_at(self, index: pd.DatetimeIndex) -> np.ndarray:
        """(n_site, n_hour) GPUs in service."""
        if self.gpu_available is None:
            return np.repeat(self.fleet.gpu_count[:, None], len(index), axis=1)
        return self.gpu_available.loc[index, self.fleet.names].to_numpy().T.astype(float)

    @property
    def gpus_now(self) -> np.ndarray:
        """(n_site,) GPUs in service in this step."""
        return self.gpus_at(pd.DatetimeIndex([self.now]))[:, 0]
