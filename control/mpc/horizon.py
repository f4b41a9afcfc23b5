"""The whole plan of a decision, per job, site and hour, and per site and hour (pure).

The LP plans job *classes* (see :mod:`control.mpc.classes`); a class's GPUs in an hour are
shared among its members in proportion to their gang sizes, which keeps every member within
its gang. Hour 0 is replaced by the committed decision (whole GPUs, one site per job), so the
stored plan starts with what was actually sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from control.fleet import FleetState
from control.mpc.classes import class_keys
from control.mpc.extract import Plan
from control.mpc.inputs import MpcInputs, build_inputs
from control.mpc.why import explain
from control.settings.core import MpcSettings
from control.decision import StepDecision
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits

MIN_GPUS = 1e-6
"""Planned GPUs below this are not stored."""


@dataclass(frozen=True)
class HorizonPlan:
    """``jobs``: tick_time-free rows ``hour, job_id, site, gpus``; ``sites``: ``hour, site, gpus,
    load_mw, green_forecast_mw, green_used_mw, grid_mw, export_mw, import_limit_mw, ci_g_per_kwh``."""

    jobs: pd.DataFrame
    sites: pd.DataFrame
    explanations: list[dict] = field(default_factory=list)
    """Why each released job runs, waits or is held (see control.mpc.why); empty without settings."""


JOB_COLUMNS = ["hour", "job_id", "site", "gpus"]
SITE_COLUMNS = ["hour", "site", "gpus", "load_mw", "green_forecast_mw", "green_used_mw", "grid_mw", "export_mw",
                "import_limit_mw", "ci_g_per_kwh"]


def member_gpus(inp: MpcInputs, class_of_job: np.ndarray, class_gpus: np.ndarray) -> np.ndarray:
    """(n_job, n_site, n_step) per-job GPUs: each class's plan shared by gang size."""
    class_size = np.bincount(class_of_job, inp.gpus, minlength=class_gpus.shape[0])
    share = inp.gpus / np.maximum(class_size[class_of_job], 1e-12)
    return class_gpus[class_of_job] * share[:, None, None]


def horizon_plan(state: FleetState, forecast: ForecastBundle, limits: GridLimits, decision: StepDecision,
                 settings: MpcSettings | None = None) -> HorizonPlan:
    """The decision's plan over the horizon (only the committed hour when the solver chain fell
    back to a rule and there is no LP plan); with ``settings`` also the explanations."""
    index = forecast.index
    names = state.fleet.names
    per_gpu = state.fleet.gpu_facility_mw
    inputs = build_inputs(state, forecast, limits)
    lp_plan = decision.plan if isinstance(decision.plan, Plan) else None
    if lp_plan is not None and inputs.n_job:
        gpus = member_gpus(inputs, class_keys(inputs), lp_plan.gpus)
    else:
        gpus = np.zeros((inputs.n_job, len(names), len(index)))
    row = {job_id: k for k, job_id in enumerate(inputs.job_ids)}
    gpus[:, :, 0] = 0.0
    for job_id, (site, count) in decision.allocation.items():
        if job_id in row:
            gpus[row[job_id], names.index(site), 0] = count
    j, s, t = np.nonzero(gpus > MIN_GPUS)
    jobs = pd.DataFrame({"hour": index[t], "job_id": inputs.job_ids[j].astype(str),
                         "site": np.asarray(names, dtype=object)[s], "gpus": gpus[j, s, t]}, columns=JOB_COLUMNS)
    site_gpus = gpus.sum(axis=0)  # (n_site, n_step)
    load = site_gpus * per_gpu[:, None]
    green = inputs.green_mw
    if lp_plan is not None and inputs.n_job:
        green_used, grid, export = lp_plan.green_mw.copy(), lp_plan.grid_mw.copy(), lp_plan.export_mw.copy()
    else:
        green_used, grid, export = np.minimum(load, green), np.maximum(load - green, 0.0), np.zeros_like(load)
    # hour 0 is the committed step: its green and grid follow the whole-GPU load
    green_used[:, 0] = np.minimum(load[:, 0], np.maximum(green[:, 0], 0.0))
    grid[:, 0] = load[:, 0] - green_used[:, 0]
    n_site, n_step = load.shape
    site_of = np.repeat(np.arange(n_site), n_step)
    step_of = np.tile(np.arange(n_step), n_site)
    sites = pd.DataFrame({
        "hour": index[step_of], "site": np.asarray(names, dtype=object)[site_of], "gpus": site_gpus.ravel(),
        "load_mw": load.ravel(), "green_forecast_mw": green.ravel(), "green_used_mw": green_used.ravel(),
        "grid_mw": grid.ravel(), "export_mw": export.ravel(), "import_limit_mw": inputs.import_limit_mw.ravel(),
        "ci_g_per_kwh": inputs.ci_g_per_kwh.ravel(),
    }, columns=SITE_COLUMNS)
    explanations: list[dict] = []
    if settings is not None and inputs.n_job:
        decided = {row[j]: (names.index(site), int(count)) for j, (site, count) in decision.allocation.items()
                   if j in row}
        running = state.jobs.set_index("job_id")["state"].eq("running") if len(state.jobs) else pd.Series(dtype=bool)
        was_running = np.array([bool(running.get(j, False)) for j in inputs.job_ids])
        explanations = explain(inputs, settings, gpus, decided, was_running, names)
    return HorizonPlan(jobs, sites, explanations)
