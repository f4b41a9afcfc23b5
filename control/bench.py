"""Benchmark of one control step at fleet scale, against the naive per-job LP in the same run.

Workload: ``n_jobs`` jobs drawn from the real traces (:mod:`control.workload` rules: Alibaba GPU
counts x 64, Philly durations), all released at the bench instant, each with a random share of its
work already done. Sites: the default scenario's sites, cycled to ``n_sites`` (copies keep their
weather, GPU model, PUE and region), with GPU counts scaled so that about half the jobs fit at once
and grid headroom 80 % of each site's facility load. Supply and carbon intensity: the copies'
real weather and factors at the bench instant. 10 % of jobs may only run at their home site
(data residency), as in the default job file.

Reported: build, solve and whole-step seconds, peak resident memory, LP objective, and the gap
between the executed plan (whole-GPU gangs in step 0, the rest re-optimised) and the LP bound.
With ``naive=True`` the one-variable-per-job-site-hour LP is built and solved on the same data.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from control.fleet import Fleet, FleetState
from control.mpc import build_inputs, build_lp, solve_lp
from control.mpc.step import MpcStep
from control.scenario import site_carbon_intensity, site_supply_mw
from control.settings import Settings
from control.workload import read_traces
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchCase:
    state: FleetState
    forecast: ForecastBundle
    limits: GridLimits


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_case(settings: Settings, shared_data: Path, n_jobs: int, n_sites: int, horizon_h: int, seed: int = 7) -> BenchCase:
    """The fleet, jobs, forecast and limits of one bench step (see the module docstring)."""
    rng = np.random.default_rng(seed)
    base_sites = settings.sites
    sites = [base_sites[k % len(base_sites)] for k in range(n_sites)]
    names = [f"{s.name}-{k // len(base_sites)}" if k >= len(base_sites) else s.name for k, s in enumerate(sites)]
    now = pd.Timestamp(settings.scenario.start).tz_convert("UTC") + pd.Timedelta(hours=10)
    index = pd.date_range(now, periods=horizon_h, freq="h")
    pods, runtimes = read_traces(shared_data)
    pods = pods[pods["num_gpu"] >= 1]
    picked = pods.sample(n=n_jobs, replace=True, random_state=seed)
    gpus = picked["num_gpu"].to_numpy() * 64
    training_h = runtimes[runtimes >= 3600].to_numpy() / 3600.0
    duration_h = np.minimum(rng.choice(training_h, size=n_jobs), 72.0)
    work = gpus * duration_h
    remaining = work * rng.uniform(0.2, 1.0, size=n_jobs)
    deadline = now + pd.to_timedelta(np.ceil(remaining / gpus * rng.uniform(1.5, 3.0, size=n_jobs)) + 12, unit="h")
    home = rng.integers(0, n_sites, size=n_jobs)
    jobs = pd.DataFrame({
        "job_id": [f"bench-{i:06d}" for i in range(n_jobs)],
        "release": now - pd.Timedelta(hours=1),
        "deadline": deadline,
        "gpus": gpus,
        "work_gpu_h": work,
        "home_site": np.asarray(names)[home],
        "allowed_sites": np.where(rng.random(n_jobs) < 0.10, np.asarray(names)[home], ""),
        "priority": (picked["qos"] == "LS").astype(int).to_numpy(),
        "checkpoint_gb": gpus * 4.0,
        "remaining_gpu_h": remaining,
        "site": "",
    })
    base = Fleet.from_settings(settings)
    pick = np.array([k % len(base_sites) for k in range(n_sites)])
    weights = base.gpu_count[pick] / base.gpu_count[pick].sum()
    gpu_count = np.ceil(weights * gpus.sum() * 0.5 / 8) * 8
    fleet = Fleet(names, [s.region for s in sites], gpu_count, base.throughput[pick], base.gpu_it_mw[pick], base.pue[pick])
    pv, wind = site_supply_mw(settings, index)
    ci = site_carbon_intensity(settings, index)
    scale = gpu_count / base.gpu_count[pick]  # renewables grow with the site
    frame = lambda f: pd.DataFrame(f[[s.name for s in sites]].to_numpy() * scale, index=index, columns=names)  # noqa: E731
    forecast = ForecastBundle(issue_time=now, index=index, pv_mw=frame(pv), wind_mw=frame(wind),
                              ci_g_per_kwh=pd.DataFrame(ci[[s.name for s in sites]].to_numpy(), index=index, columns=names))
    headroom = np.tile(0.8 * gpu_count * fleet.gpu_facility_mw, (horizon_h, 1))
    limits = GridLimits(index, pd.DataFrame(headroom, index=index, columns=names),
                        pd.DataFrame(headroom, index=index, columns=names))
    return BenchCase(FleetState(now, fleet, jobs, jobs.iloc[:0]), forecast, limits)


def run_step(case: BenchCase, settings: Settings) -> dict:
    """One control step with job classes; returns timings, objective and executed-plan gap."""
    mpc = settings.mpc
    started = time.perf_counter()
    # the controller's step (move blocking as in the policy), cold: the first tick of a daemon
    step = MpcStep(mpc.model_copy(update={"warm_start": False})).run(case.state, case.forecast, case.limits)
    if step is None:
        raise RuntimeError("bench case has no job")
    result, inputs, classes, class_of_job, lp = step.solve, step.inputs, step.classes, step.class_of_job, step.lp
    if step.plan is None:
        raise RuntimeError(f"bench LP ended {result.status}")
    decisions = step.decisions
    build_s = step.build_s
    step_s = time.perf_counter() - started
    rss = peak_rss_mb()
    executed = _executed_objective(inputs, classes, class_of_job, lp, decisions, settings)
    return {
        "jobs": inputs.n_job, "classes": classes.n_job, "sites": inputs.n_site, "horizon_h": inputs.n_step,
        "columns": int(lp.a.shape[1]), "rows": int(lp.a.shape[0]),
        "build_s": build_s, "solve_s": result.solve_s, "step_s": step_s, "peak_rss_mb": rss,
        "objective": result.objective, "executed_objective": executed,
        "gap_to_lp_bound": (executed - result.objective) / max(abs(result.objective), 1e-9),
        "jobs_started": len(decisions), "status": str(result.status),
    }


def _executed_objective(inputs, classes, class_of_job, lp, decisions, settings) -> float:
    """Objective with step 0 fixed to the whole-gang decisions and the rest re-optimised."""
    fixed = np.zeros((classes.n_job, classes.n_site))
    for j, (s, gpus) in decisions.items():
        fixed[class_of_job[j], s] += min(gpus, inputs.remaining_gpu_h[j] / inputs.throughput[s])
    idx = lp.index
    at0 = idx.step == 0
    lb, ub = lp.col_lb.copy(), lp.col_ub.copy()
    cols = np.flatnonzero(at0)
    lb[cols] = ub[cols] = np.minimum(fixed[idx.job[cols], idx.site[cols]], ub[cols])
    result = solve_lp(replace(lp, col_lb=lb, col_ub=ub), settings.mpc.solver_time_limit_s, settings.mpc.solver)
    return result.objective if result.x is not None else float("nan")


def run_naive(case: BenchCase, settings: Settings) -> dict:
    """The one-variable-per-job-site-hour LP on the same data (no classes)."""
    started = time.perf_counter()
    inputs = build_inputs(case.state, case.forecast, case.limits)
    lp = build_lp(inputs, settings.mpc)
    build_s = time.perf_counter() - started
    result = solve_lp(lp, time_limit_s=max(settings.mpc.solver_time_limit_s, 3600.0), solver=settings.mpc.solver)
    return {"naive_build_s": build_s, "naive_solve_s": result.solve_s, "naive_step_s": time.perf_counter() - started,
            "naive_columns": int(lp.a.shape[1]), "naive_objective": result.objective,
            "naive_status": str(result.status), "naive_peak_rss_mb": peak_rss_mb()}
