"""Numeric inputs of one MPC solve: plain arrays, no pandas, no I/O.

All per-hour arrays have shape (n_site, n_step); per-job arrays have shape (n_job,).
Step ``t`` is the hour ``[now + t h, now + (t+1) h)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.fleet import FleetState
from control.jobs import allowed_matrix
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits


@dataclass(frozen=True)
class MpcInputs:
    """Everything one solve needs, in arrays."""

    job_ids: np.ndarray
    remaining_gpu_h: np.ndarray
    """Reference-GPU hours of work left per job."""
    gpus: np.ndarray
    """Gang size per job (the largest, for elastic jobs) [GPUs]."""
    release_step: np.ndarray
    """First step a job may run (0 if already released)."""
    deadline_step: np.ndarray
    """Steps until the deadline (may exceed the horizon, may be <= 0 when overdue)."""
    priority: np.ndarray
    allowed: np.ndarray
    """(n_job, n_site) bool."""
    gpu_count: np.ndarray
    """(n_site, n_step) GPUs available."""
    throughput: np.ndarray
    """(n_site,) reference-GPU hours per GPU-hour."""
    gpu_facility_mw: np.ndarray
    """(n_site,) facility power of one busy GPU [MW]."""
    green_mw: np.ndarray
    """(n_site, n_step) own or contracted renewable supply [MW]."""
    ci_g_per_kwh: np.ndarray
    """(n_site, n_step) grid carbon intensity [gCO2/kWh]."""
    import_limit_mw: np.ndarray
    """(n_site, n_step)."""
    export_limit_mw: np.ndarray | None = None
    """(n_site, n_step) most renewables may push into the grid; None = no limit."""
    ptdf: np.ndarray | None = None
    """(n_branch, n_site) MW of branch flow per MW drawn."""
    base_flow_mw: np.ndarray | None = None
    """(n_branch, n_step)."""
    branch_limit_mw: np.ndarray | None = None
    """(n_branch,)."""
    required_gpu_h: np.ndarray | None = None
    """Work that must be done inside the horizon; None = derived from each job's deadline."""
    tariff_per_mwh: np.ndarray | None = None
    """(n_site, n_step) grid price [currency/MWh]; None = not priced."""
    min_gpus: np.ndarray | None = None
    """(n_job,) smallest gang of elastic jobs (= ``gpus`` for fixed gangs); None = all fixed."""
    current_site: np.ndarray | None = None
    """(n_job,) site index where the job last ran, -1 if it has not run; None = none ran."""
    migration_t_per_gpu_h: np.ndarray | None = None
    """(n_job, n_site) cost of moving there, spread over the job's remaining GPU-hours there
    [tCO2 per GPU-hour]; zero at the job's own site. None = migrations are free."""

    @property
    def n_job(self) -> int:
        return len(self.job_ids)

    @property
    def n_site(self) -> int:
        return self.green_mw.shape[0]

    @property
    def n_step(self) -> int:
        return self.green_mw.shape[1]


def build_inputs(
    state: FleetState,
    forecast: ForecastBundle,
    limits: GridLimits,
    include_upcoming: bool = True,
    use_network: bool = True,
    green_quantile: str = "mean",
) -> MpcInputs:
    """Turn the state, the forecast and the grid limits into :class:`MpcInputs`; the green
    supply is the forecast's ``green_quantile`` (``[mpc] green_quantile``, see
    :meth:`ForecastBundle.planning_green_mw`)."""
    fleet = state.fleet
    jobs = state.jobs
    if include_upcoming and len(state.upcoming):
        horizon_end = forecast.index[-1] + pd.Timedelta(hours=1)
        soon = state.upcoming[state.upcoming["release"] < horizon_end]
        if len(soon):
            soon = soon.assign(remaining_gpu_h=soon["work_gpu_h"], site="")
            jobs = pd.concat([jobs, soon[jobs.columns]], ignore_index=True) if len(jobs) else soon
    now = state.now
    hours = lambda t: ((t - now) / pd.Timedelta(hours=1)).to_numpy()  # noqa: E731
    release_step = np.maximum(np.ceil(hours(jobs["release"])), 0).astype(int) if len(jobs) else np.zeros(0, int)
    deadline_step = np.floor(hours(jobs["deadline"])).astype(int) if len(jobs) else np.zeros(0, int)
    n_step = len(forecast.index)
    sites = fleet.names
    ci = forecast.ci_g_per_kwh[sites].to_numpy().T.copy()
    current = jobs["site"].map({name: k for k, name in enumerate(sites)}).fillna(-1).to_numpy(dtype=int)
    checkpoint_gb = jobs["checkpoint_gb"].to_numpy(dtype=float) if "checkpoint_gb" in jobs else np.zeros(len(jobs))
    use_ptdf = use_network and limits.has_network
    big = 1e6  # a grid-blind controller sees no import or export limit
    return MpcInputs(
        job_ids=jobs["job_id"].to_numpy(),
        remaining_gpu_h=jobs["remaining_gpu_h"].to_numpy(dtype=float),
        gpus=jobs["gpus"].to_numpy(dtype=float),
        min_gpus=(jobs["min_gpus"] if "min_gpus" in jobs else jobs["gpus"]).to_numpy(dtype=float),
        release_step=release_step,
        deadline_step=deadline_step,
        priority=jobs["priority"].to_numpy(dtype=float),
        allowed=allowed_matrix(jobs, sites),
        gpu_count=state.gpus_at(forecast.index),
        throughput=fleet.throughput,
        gpu_facility_mw=fleet.gpu_facility_mw,
        green_mw=forecast.planning_green_mw(green_quantile)[sites].to_numpy().T.copy(),
        ci_g_per_kwh=ci,
        import_limit_mw=(limits.import_limit_mw[sites].to_numpy().T.copy() if use_network
                         else np.full((len(sites), n_step), big)),
        export_limit_mw=(limits.export_limit_mw[sites].to_numpy().T.copy() if use_network
                         else np.full((len(sites), n_step), big)),
        ptdf=limits.ptdf if use_ptdf else None,
        base_flow_mw=limits.base_flow_mw.to_numpy().T.copy() if use_ptdf and limits.base_flow_mw is not None else None,
        branch_limit_mw=limits.branch_limit_mw if use_ptdf else None,
        current_site=current,
        tariff_per_mwh=state.tariffs_at(forecast.index),
        migration_t_per_gpu_h=migration_cost_t_per_gpu_h(
            fleet, checkpoint_gb, current, jobs["gpus"].to_numpy(dtype=float),
            jobs["remaining_gpu_h"].to_numpy(dtype=float), ci,
        ),
    )


def migration_cost_t_per_gpu_h(
    fleet, checkpoint_gb: np.ndarray, current: np.ndarray, gpus: np.ndarray,
    remaining_gpu_h: np.ndarray, ci_g_per_kwh: np.ndarray,
) -> np.ndarray:
    """Emissions of moving each job to each site, per GPU-hour it would then run there.

    Moving costs the idle interval: the gang waits ``checkpoint / bandwidth`` hours at the new
    site drawing idle power (taken at the site's mean forecast grid intensity, a conservative
    choice). Spread over the ``remaining / throughput`` GPU-hours the job would run there, the LP
    pays the full cost if the whole job moves, and a share if part of its work does.
    """
    transfer_h = fleet.transfer_h(checkpoint_gb, current)  # (n_job, n_site)
    idle_facility_mw = (fleet.gpu_idle_it_mw if fleet.gpu_idle_it_mw is not None else 0.0 * fleet.pue) * fleet.pue
    cost_t = transfer_h * gpus[:, None] * (idle_facility_mw * ci_g_per_kwh.mean(axis=1) / 1000.0)[None, :]
    gpu_h_there = np.maximum(remaining_gpu_h, 1e-9)[:, None] / fleet.throughput[None, :]
    return cost_t / gpu_h_there
