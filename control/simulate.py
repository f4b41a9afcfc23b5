"""Closed-loop simulation: each hour, a policy decides on forecasts; the hour plays out on actuals.

One step of the loop:

1. the policy sees the released, unfinished jobs, a forecast issued now for the horizon and the
   grid limits, and commits whole-GPU gangs for this hour;
2. the hour is played on the *actual* supply: each site uses its green power first, the rest
   comes from the grid at the region's intensity; energy above the grid limit is a violation;
3. work done is subtracted, finished jobs leave, the clock moves one hour and the policy re-plans.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from control.fleet import FleetState
from control.policies import Policy
from control.policies.base import StepDecision
from control.scenario import Scenario

logger = logging.getLogger(__name__)

_EPS_GPU_H = 1e-6


class DispatchError(RuntimeError):
    """A policy returned an allocation that breaks a hard rule (unknown job or site, gang, capacity)."""


@dataclass(frozen=True)
class PolicyRun:
    """Everything one policy did in a simulation (see docs/CONTRACTS.md)."""

    policy: str
    dispatch: pd.DataFrame
    site_hour: pd.DataFrame
    steps: pd.DataFrame
    jobs: pd.DataFrame
    """The job table with ``finished`` (UTC or NaT) and ``remaining_gpu_h`` at the end."""
    summary: dict


def run_policy(scenario: Scenario, policy: Policy, progress: bool = False) -> PolicyRun:
    """Simulate ``policy`` over the scenario's steps."""
    fleet = scenario.fleet
    jobs = scenario.jobs.copy()
    jobs["remaining_gpu_h"] = jobs["work_gpu_h"].astype(float)
    jobs["site"] = ""
    jobs["finished"] = pd.Series(pd.NaT, index=jobs.index, dtype="datetime64[ns, UTC]")
    jobs = jobs.set_index("job_id", drop=False)
    site_pos = {name: k for k, name in enumerate(fleet.names)}
    horizon_h = scenario.settings.mpc.horizon_h
    dispatch_rows: list[tuple] = []
    site_rows: list[pd.DataFrame] = []
    step_rows: list[dict] = []
    steps = tqdm(scenario.index, desc=f"simulate {policy.name}", unit="h", disable=not progress, leave=False)
    for now in steps:
        active_mask = (jobs["release"] <= now) & (jobs["remaining_gpu_h"] > _EPS_GPU_H)
        state = FleetState(
            now=now, fleet=fleet, jobs=jobs[active_mask].reset_index(drop=True),
            upcoming=jobs[jobs["release"] > now].reset_index(drop=True),
        )
        forecast = scenario.provider.forecast(now, horizon_h)
        limits = scenario.grid.limits(forecast.index, forecast.green_mw)
        started = time.perf_counter()
        decision = policy.decide(state, forecast, limits)
        decide_s = time.perf_counter() - started
        _check_decision(decision, state, site_pos)

        actual = scenario.provider.actual(pd.DatetimeIndex([now]))
        actual_limits = scenario.grid.limits(actual.index, actual.green_mw)
        gpu_h = np.zeros(len(fleet.names))  # GPU-hours used per site this hour
        for job_id, (site, gpus) in decision.allocation.items():
            s = site_pos[site]
            k = fleet.throughput[s]
            work = min(jobs.at[job_id, "remaining_gpu_h"], gpus * k)
            used_gpu_h = work / k
            gpu_h[s] += used_gpu_h
            it_mwh = used_gpu_h * fleet.gpu_it_mw[s]
            dispatch_rows.append((now, job_id, site, gpus, work, it_mwh, it_mwh * fleet.pue[s]))
            jobs.at[job_id, "remaining_gpu_h"] -= work
            jobs.at[job_id, "site"] = site
            if jobs.at[job_id, "remaining_gpu_h"] <= _EPS_GPU_H:
                jobs.at[job_id, "finished"] = now + pd.Timedelta(hours=1)
        site_rows.append(_settle_hour(scenario, now, gpu_h, actual, actual_limits))
        step_rows.append({
            "time": now, "decide_s": decide_s, "build_s": decision.build_s, "solve_s": decision.solve_s,
            "status": decision.status, "flags": ";".join(decision.flags), "jobs_active": len(state.jobs),
            "jobs_running": len(decision.allocation),
        })
    dispatch = pd.DataFrame(
        dispatch_rows,
        columns=["time", "job_id", "site", "gpus", "work_gpu_h", "it_energy_mwh", "facility_energy_mwh"],
    )
    site_hour = pd.concat(site_rows, ignore_index=True)
    step_frame = pd.DataFrame(step_rows)
    jobs = jobs.reset_index(drop=True)
    return PolicyRun(policy.name, dispatch, site_hour, step_frame, jobs,
                     summarise(policy.name, dispatch, site_hour, step_frame, jobs))


def _check_decision(decision: StepDecision, state: FleetState, site_pos: dict[str, int]) -> None:
    """Hard rules every policy must keep: known released jobs, whole gangs, GPU capacity."""
    active = state.jobs.set_index("job_id")
    used = np.zeros(len(site_pos))
    for job_id, (site, gpus) in decision.allocation.items():
        if job_id not in active.index:
            raise DispatchError(f"step {state.now}: job {job_id} is not released or already finished")
        if site not in site_pos:
            raise DispatchError(f"step {state.now}: job {job_id} sent to unknown site {site!r}")
        if gpus != active.at[job_id, "gpus"]:
            raise DispatchError(f"step {state.now}: job {job_id} given {gpus} GPUs, its gang is {active.at[job_id, 'gpus']}")
        allowed = active.at[job_id, "allowed_sites"]
        if allowed and site not in allowed.split(";"):
            raise DispatchError(f"step {state.now}: job {job_id} may not run at {site} (allowed: {allowed})")
        used[site_pos[site]] += gpus
    over = used > state.fleet.gpu_count + 1e-9
    if over.any():
        s = int(np.argmax(over))
        raise DispatchError(
            f"step {state.now}: site {state.fleet.names[s]} given {used[s]:.0f} GPUs, it has {state.fleet.gpu_count[s]:.0f}"
        )


def _settle_hour(scenario: Scenario, now: pd.Timestamp, gpu_h: np.ndarray, actual, limits) -> pd.DataFrame:
    """Energy balance of each site for one hour on actual supply (green first, then grid)."""
    fleet = scenario.fleet
    names = fleet.names
    load = gpu_h * fleet.gpu_it_mw * fleet.pue  # MW over one hour = MWh
    green = actual.green_mw.loc[now, names].to_numpy()
    green_used = np.minimum(load, green)
    grid = load - green_used
    import_limit = limits.import_limit_mw.loc[now, names].to_numpy()
    export_limit = limits.export_limit_mw.loc[now, names].to_numpy()
    curtailable = np.maximum(green - export_limit, 0.0)
    ci = actual.ci_g_per_kwh.loc[now, names].to_numpy()
    return pd.DataFrame({
        "time": now,
        "site": names,
        "region": fleet.regions,
        "it_load_mw": gpu_h * fleet.gpu_it_mw,
        "load_mw": load,
        "green_available_mw": green,
        "green_used_mw": green_used,
        "curtailment_absorbed_mw": np.minimum(green_used, curtailable),
        "grid_import_mw": grid,
        "import_limit_mw": import_limit,
        "grid_violation_mw": np.maximum(grid - import_limit, 0.0),
        "ci_g_per_kwh": ci,
        "emissions_t": grid * ci / 1000.0,
    })


def summarise(name: str, dispatch: pd.DataFrame, site_hour: pd.DataFrame, steps: pd.DataFrame, jobs: pd.DataFrame) -> dict:
    """The per-policy numbers of ``summary.json`` (energies in MWh: hourly MW sums)."""
    energy = float(site_hour["load_mw"].sum())
    green = float(site_hour["green_used_mw"].sum())
    late = jobs["finished"].isna() | (jobs["finished"] > jobs["deadline"])
    solve = steps["decide_s"] if len(steps) else pd.Series([0.0])
    return {
        "energy_mwh": energy,
        "it_energy_mwh": float(site_hour["it_load_mw"].sum()),
        "green_energy_mwh": green,
        "grid_energy_mwh": float(site_hour["grid_import_mw"].sum()),
        "emissions_tco2": float(site_hour["emissions_t"].sum()),
        "green_share": green / energy if energy > 0 else 0.0,
        "work_gpu_h": float(dispatch["work_gpu_h"].sum()) if len(dispatch) else 0.0,
        "jobs_completed": int((~jobs["finished"].isna()).sum()),
        "deadline_misses": int(late.sum()),
        "grid_violation_mwh": float(site_hour["grid_violation_mw"].sum()),
        "curtailment_absorbed_mwh": float(site_hour["curtailment_absorbed_mw"].sum()),
        "solve_s_mean": float(solve.mean()),
        "solve_s_max": float(solve.max()),
    }
