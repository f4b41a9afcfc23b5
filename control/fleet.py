"""The fleet of data centres as arrays in config order, and the state carried between steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.settings import Settings
from forecasts.bundle import rows_on, site_values


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
    gpu_idle_it_mw: np.ndarray | None = None
    """IT power of one GPU held idle (waiting for a checkpoint) [MW]; None = zero."""
    wan_gbps: np.ndarray | None = None
    """(n_site, n_site) checkpoint bandwidth between sites [Gbit/s]; None = transfers take no time."""

    def transfer_h(self, checkpoint_gb: np.ndarray, from_site: np.ndarray) -> np.ndarray:
        """(n_job, n_site) hours to move each job's checkpoint from ``from_site`` (index, -1 =
        nowhere: a job that has not run has nothing to move) to every site (0 to its own)."""
        n_site = len(self.names)
        out = np.zeros((len(checkpoint_gb), n_site))
        moving = from_site >= 0
        if self.wan_gbps is None or not moving.any():
            return out
        gbps = self.wan_gbps[from_site[moving]]  # (n_moving, n_site)
        out[moving] = np.asarray(checkpoint_gb, dtype=float)[moving, None] * 8.0 / gbps / 3600.0
        out[moving, from_site[moving]] = 0.0
        return out

    def move_h(self, from_site: str, to_site: str, checkpoint_gb: float) -> float:
        """Hours to move one checkpoint between two sites by name (see :meth:`transfer_h`)."""
        hours = self.transfer_h(np.array([checkpoint_gb], dtype=float), np.array([self.names.index(from_site)]))
        return float(hours[0, self.names.index(to_site)])

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
            gpu_idle_it_mw=np.array([models[s.gpu_model].idle_kw / 1000.0 for s in settings.sites], dtype=float),
            wan_gbps=wan_matrix_gbps(settings),
        )


def wan_matrix_gbps(settings: Settings) -> np.ndarray:
    """(n_site, n_site) checkpoint bandwidth [Gbit/s]: the default, with configured pairs."""
    names = settings.site_names
    gbps = np.full((len(names), len(names)), settings.wan.default_gbps)
    for link in settings.wan.links:
        a, b = names.index(link.a), names.index(link.b)
        gbps[a, b] = gbps[b, a] = link.gbps
    return gbps


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
    tariff_per_mwh: pd.DataFrame | None = None
    """Grid price per hour and site [currency/MWh]; None = not priced."""

    def tariffs_at(self, index: pd.DatetimeIndex) -> np.ndarray | None:
        """(n_site, n_hour) grid prices, or None."""
        if self.tariff_per_mwh is None:
            return None
        return site_values(rows_on(self.tariff_per_mwh, index), self.fleet.names).T

    def gpus_at(self, index: pd.DatetimeIndex) -> np.ndarray:
        """(n_site, n_hour) GPUs in service."""
        if self.gpu_available is None:
            return np.repeat(self.fleet.gpu_count[:, None], len(index), axis=1)
        return site_values(rows_on(self.gpu_available, index), self.fleet.names).T

    @property
    def gpus_now(self) -> np.ndarray:
        """(n_site,) GPUs in service in this step."""
        frame = self.gpu_available
        if frame is not None and list(frame.columns) == list(self.fleet.names):
            # one row by position (a label lookup per step costs more than the policy's decision)
            row = frame.index.searchsorted(self.now)
            if row < len(frame) and frame.index[row] == self.now:
                return frame.to_numpy(dtype=float)[row]
        return self.gpus_at(pd.DatetimeIndex([self.now]))[:, 0]
