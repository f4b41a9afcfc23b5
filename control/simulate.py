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

from control.accounting.booking import (
    arrival_wait_h,
    green_first,
    hour_it_energy_mwh,
    hour_progress,
    location_emissions_t,
)
from control.fleet import FleetState
from control.policies import Policy, make_policy
from control.policies.base import StepDecision
from control.scenario import Scenario
from forecasts.bundle import rows_on, site_values
from grid_models.limits import CheckMethod, Derating

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


def run_policy(scenario: Scenario, policy: Policy, progress: bool = False, ac_check: bool | None = None) -> PolicyRun:
    """Simulate ``policy`` over the scenario's steps. ``ac_check=False`` skips the AC power flow of
    each hour (default: ``[grid] ac_check``); only for runs whose grid figures are not reported."""
    fleet = scenario.fleet
    jobs = scenario.jobs.copy()
    jobs["remaining_gpu_h"] = jobs["work_gpu_h"].astype(float)
    jobs["site"] = ""
    jobs["migrations"] = 0
    jobs["transfer_left_h"] = 0.0
    jobs["finished"] = pd.Series(pd.NaT, index=jobs.index, dtype="datetime64[ns, UTC]")
    jobs = jobs.set_index("job_id", drop=False)
    site_pos = {name: k for k, name in enumerate(fleet.names)}
    horizon_h = scenario.settings.mpc.horizon_h
    dispatch_rows: list[tuple] = []
    site_rows: list[dict[str, np.ndarray]] = []
    site_times: list[pd.Timestamp] = []
    step_rows: list[dict] = []
    steps = tqdm(scenario.index, desc=f"simulate {policy.name}", unit="h", disable=not progress, leave=False)
    grid_settings = scenario.settings.grid
    check_ac = grid_settings.ac_check if ac_check is None else ac_check
    needs_forecast = getattr(policy, "needs_forecast", True)
    grid_aware = getattr(policy, "grid_aware", False)
    release_ns = pd.DatetimeIndex(jobs["release"]).asi8
    derating = Derating()  # limits this run tightened after AC overloads: the run's state, not the scenario's
    actual_hours = _ActualHours(scenario)
    upcoming, n_released = None, -1
    for hour_number, now in enumerate(steps):
        remaining = jobs["remaining_gpu_h"].to_numpy()
        released = release_ns <= now.value
        if upcoming is None or int(released.sum()) != n_released:
            # unreleased jobs never ran, so their rows only change when one of them is released
            upcoming, n_released = jobs.iloc[np.flatnonzero(~released)].reset_index(drop=True), int(released.sum())
        state = FleetState(
            now=now, fleet=fleet, jobs=jobs.iloc[np.flatnonzero(released & (remaining > _EPS_GPU_H))].reset_index(drop=True),
            upcoming=upcoming, gpu_available=scenario.gpu_available, tariff_per_mwh=scenario.tariff_per_mwh,
        )
        # rule-based policies that look at no forecast or limit (agnostic) are spared both
        forecast = scenario.provider.forecast(now, horizon_h) if needs_forecast else None
        decide_s = build_s = solve_s = 0.0
        for attempt in range(grid_settings.max_resolves + 1):
            limits = scenario.grid.limits(forecast.index, forecast.green_mw, derating) if forecast is not None else None
            started = time.perf_counter()
            decision = policy.decide(state, forecast, limits)  # type: ignore[arg-type]  # None only if needs_forecast is False
            decide_s += time.perf_counter() - started
            build_s += decision.build_s
            solve_s += decision.solve_s
            _check_decision(decision, state, site_pos)
            hour = execute_hour(decision, jobs, fleet, site_pos)
            settled = _settle_arrays(fleet, hour.site_it_mw, *actual_hours.at(hour_number))
            ac = _ac_check(scenario, now, settled) if check_ac else None
            if ac is None or not ac.converged or ac.violation_mw <= 1e-6 or not grid_aware:
                break
            if attempt < grid_settings.max_resolves:
                logger.info("step %s: AC check found %s over limit; tightening and re-solving", now, ac.overloaded)
                derating = scenario.grid.tightened(derating, list(ac.overloaded), grid_settings.tighten_factor)
                actual_hours.limits_changed(derating)
        for job_id, (site, gpus) in decision.allocation.items():
            s = site_pos[site]
            done, it_mwh, transfer_left, migrated = hour.jobs[job_id]
            dispatch_rows.append((now, job_id, site, gpus, done, it_mwh, it_mwh * fleet.pue[s], migrated))
            jobs.at[job_id, "remaining_gpu_h"] -= done
            jobs.at[job_id, "migrations"] += int(migrated)
            jobs.at[job_id, "transfer_left_h"] = transfer_left
            jobs.at[job_id, "site"] = site
            if jobs.at[job_id, "remaining_gpu_h"] <= _EPS_GPU_H:
                jobs.at[job_id, "finished"] = now + pd.Timedelta(hours=1)
        site_rows.append(settled)
        site_times.append(now)
        step_rows.append({
            "time": now, "decide_s": decide_s, "build_s": build_s, "solve_s": solve_s,
            "status": decision.status, "flags": ";".join(decision.flags), "jobs_active": len(state.jobs),
            "jobs_running": len(decision.allocation), "resolves": attempt,
            "ac_converged": ac.converged if ac else None,
            "max_loading_pct": ac.max_line_loading_pct if ac else float("nan"),
            "min_voltage_pu": ac.min_voltage_pu if ac else float("nan"),
            "max_voltage_pu": ac.max_voltage_pu if ac else float("nan"),
            "ac_violation_mw": ac.violation_mw if ac else 0.0,
            "overloaded": ";".join(ac.overloaded) if ac else "",
            "ac_note": ac.message if ac else "",
            "ac_method": str(ac.method) if ac else "",
        })
    dispatch = pd.DataFrame(
        dispatch_rows,
        columns=["time", "job_id", "site", "gpus", "work_gpu_h", "it_energy_mwh", "facility_energy_mwh", "migrated"],
    )
    site_hour = _site_hour_frame(site_times, site_rows, fleet)
    step_frame = pd.DataFrame(step_rows)
    jobs = jobs.reset_index(drop=True)
    return PolicyRun(policy.name, dispatch, site_hour, step_frame, jobs,
                     summarise(policy.name, dispatch, site_hour, step_frame, jobs))


def _check_decision(decision: StepDecision, state: FleetState, site_pos: dict[str, int]) -> None:
    """Hard rules every policy must keep: known released jobs, whole gangs, GPU capacity."""
    jobs = state.jobs
    row_of = dict(zip(jobs["job_id"], range(len(jobs)), strict=True))
    min_gpus, max_gpus = jobs["min_gpus"].to_numpy(), jobs["gpus"].to_numpy()
    allowed_sites = jobs["allowed_sites"].to_numpy()
    used = np.zeros(len(site_pos))
    for job_id, (site, gpus) in decision.allocation.items():
        row = row_of.get(job_id)
        if row is None:
            raise DispatchError(f"step {state.now}: job {job_id} is not released or already finished")
        if site not in site_pos:
            raise DispatchError(f"step {state.now}: job {job_id} sent to unknown site {site!r}")
        low, high = min_gpus[row], max_gpus[row]
        if gpus != int(gpus) or not low <= gpus <= high:
            gang = f"its gang is {high}" if low == high else f"it runs on {low} to {high}"
            raise DispatchError(f"step {state.now}: job {job_id} given {gpus} GPUs, {gang}")
        allowed = allowed_sites[row]
        if allowed and site not in allowed.split(";"):
            raise DispatchError(f"step {state.now}: job {job_id} may not run at {site} (allowed: {allowed})")
        used[site_pos[site]] += gpus
    capacity = state.gpus_now
    over = used > capacity + 1e-9
    if over.any():
        s = int(np.argmax(over))
        raise DispatchError(
            f"step {state.now}: site {state.fleet.names[s]} given {used[s]:.0f} GPUs, it has {capacity[s]:.0f} in service"
        )


@dataclass(frozen=True)
class HourExecution:
    """What carrying out a decision for one hour does."""

    site_it_mw: np.ndarray
    """(n_site,) IT power drawn [MW] (= MWh over the hour)."""
    jobs: dict[str, tuple[float, float, float, bool]]
    """job -> (reference work done [GPU h], IT energy [MWh], checkpoint transfer left [h], migrated)."""


def execute_hour(decision: StepDecision, jobs: pd.DataFrame, fleet, site_pos: dict[str, int]) -> HourExecution:
    """Work and energy of each allocated job in the hour, by the booking rules of
    :mod:`control.accounting.booking`.

    A job that last ran at another site migrates: its checkpoint (``checkpoint_gb``) crosses the
    WAN first, and while it does the gang holds its GPUs idle (idle power, no work). A transfer
    longer than an hour carries over to the job's next hours at that site. A job's work in the
    hour is its gang's throughput over the productive part, capped by what it has left (a job
    that finishes early stops drawing power).
    """
    site_it_mw = np.zeros(len(fleet.names))
    ids = list(decision.allocation)
    if not ids:
        return HourExecution(site_it_mw, {})
    sites = np.array([site_pos[decision.allocation[j][0]] for j in ids])
    gpus = np.array([decision.allocation[j][1] for j in ids], dtype=float)
    rows = jobs.loc[ids]
    previous = rows["site"].to_numpy()
    before = np.array([site_pos.get(p, -1) if p else -1 for p in previous])
    migrated = (before >= 0) & (before != sites)
    move_h = fleet.transfer_h(rows["checkpoint_gb"].to_numpy(dtype=float), np.where(migrated, before, -1))
    waiting_h = arrival_wait_h(migrated, move_h[np.arange(len(ids)), sites], rows["transfer_left_h"].to_numpy(dtype=float))
    k = fleet.throughput[sites]
    done, idle_h, left_h = hour_progress(rows["remaining_gpu_h"].to_numpy(dtype=float), gpus, k, waiting_h)
    idle_mw = fleet.gpu_idle_it_mw[sites] if fleet.gpu_idle_it_mw is not None else 0.0
    it_mwh = hour_it_energy_mwh(done, gpus, idle_h, k, fleet.gpu_it_mw[sites], idle_mw)
    np.add.at(site_it_mw, sites, it_mwh)
    out = {job_id: (float(done[i]), float(it_mwh[i]), float(left_h[i]), bool(migrated[i])) for i, job_id in enumerate(ids)}
    return HourExecution(site_it_mw, out)


def _ac_check(scenario: Scenario, now: pd.Timestamp, settled: dict[str, np.ndarray]):
    grid = scenario.grid
    injected = settled["green_used_mw"] + settled["export_mw"]
    if getattr(grid, "network", None) is None and hasattr(grid, "connections"):
        # site connections only: arrays in fleet order (= the grid's site order), no Series to build
        if list(grid.connections.sites) == list(scenario.fleet.names):
            return grid.connections.ac_check(now, settled["load_mw"], injected)
    sites = scenario.fleet.names
    series = lambda key: pd.Series(settled[key], index=sites)  # noqa: E731
    return grid.ac_check(now, series("load_mw"), pd.Series(injected, index=sites), series("grid_import_mw"),
                         series("export_mw"))


class _ActualHours:
    """The actual supply, intensity, price and grid limits of every hour of a run as arrays
    (hour x site), read once instead of as one-hour frames per step. The limits are read again
    after the AC check tightened the grid."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        names = scenario.fleet.names
        index = scenario.index
        actual = scenario.provider.actual(index)
        self.green = site_values(actual.pv_mw, names) + site_values(actual.wind_mw, names)
        self.ci = site_values(actual.ci_g_per_kwh, names)
        self.tariff = (site_values(rows_on(scenario.tariff_per_mwh, index), names) if scenario.tariff_per_mwh is not None
                       else np.zeros((len(index), len(names))))
        self._actual = actual
        self.limits_changed()

    def limits_changed(self, derating: Derating | None = None) -> None:
        names = self.scenario.fleet.names
        limits = self.scenario.grid.limits(self._actual.index, self._actual.green_mw, derating)
        self.import_limit = site_values(limits.import_limit_mw, names)
        self.export_limit = site_values(limits.export_limit_mw, names)

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(green, import limit, export limit, intensity, tariff) of hour ``k``, one value per site."""
        return self.green[k], self.import_limit[k], self.export_limit[k], self.ci[k], self.tariff[k]


def _settle_arrays(fleet, it_mw: np.ndarray, green: np.ndarray, import_limit: np.ndarray, export_limit: np.ndarray,  # noqa: ANN001
                   ci: np.ndarray, tariff: np.ndarray) -> dict[str, np.ndarray]:
    """Energy balance of each site for one hour on actual supply (green first, then grid); one
    array per ``site_hour`` column (the frame is built once at the end of the run)."""
    load = it_mw * fleet.pue  # MW over one hour = MWh
    green_used, grid = green_first(load, green)
    curtailable = np.maximum(green - export_limit, 0.0)
    export = np.minimum(green - green_used, export_limit)
    return {
        "it_load_mw": it_mw,
        "load_mw": load,
        "green_available_mw": green,
        "green_used_mw": green_used,
        "curtailment_absorbed_mw": np.minimum(green_used, curtailable),
        "export_mw": export,
        "curtailed_mw": green - green_used - export,
        "grid_import_mw": grid,
        "import_limit_mw": import_limit,
        "grid_violation_mw": np.maximum(grid - import_limit, 0.0),
        "ci_g_per_kwh": ci,
        "emissions_t": location_emissions_t(grid, ci),
        "tariff_per_mwh": tariff,
        "cost": grid * tariff,
    }


def _site_hour_frame(times: list[pd.Timestamp], rows: list[dict[str, np.ndarray]], fleet) -> pd.DataFrame:
    """The ``site_hour`` table: one row per hour and site, hours in order, sites in fleet order."""
    n_site = len(fleet.names)
    columns = {
        "time": pd.DatetimeIndex(times).repeat(n_site) if times else pd.DatetimeIndex([], tz="UTC"),
        "site": np.tile(np.asarray(fleet.names, dtype=object), len(times)),
        "region": np.tile(np.asarray(fleet.regions, dtype=object), len(times)),
    }
    keys = rows[0].keys() if rows else ()
    columns |= {key: np.concatenate([r[key] for r in rows]) for key in keys}
    return pd.DataFrame(columns)


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
        "migrations": int(jobs["migrations"].sum()),
        "cost": float(site_hour["cost"].sum()),
        "grid_violation_mwh": _violation_mwh(site_hour, steps),
        "import_limit_excess_mwh": float(site_hour["grid_violation_mw"].sum()),
        "grid_violation_hours": int((steps.get("ac_violation_mw", pd.Series(dtype=float)) > 1e-6).sum()),
        "max_line_loading_pct": _finite_max(steps, "max_loading_pct"),
        "min_voltage_pu": _finite_min(steps, "min_voltage_pu"),
        "max_voltage_pu": _finite_max(steps, "max_voltage_pu"),
        "ac_resolves": int(steps["resolves"].sum()) if "resolves" in steps else 0,
        "ac_failures": int((steps["ac_converged"] == False).sum()) if "ac_converged" in steps else 0,  # noqa: E712
        "dc_fallback_steps": int((steps["ac_method"] == CheckMethod.DC).sum()) if "ac_method" in steps else 0,
        "curtailed_mwh": float(site_hour["curtailed_mw"].sum()),
        "curtailment_absorbed_mwh": float(site_hour["curtailment_absorbed_mw"].sum()),
        "solve_s_mean": float(solve.mean()),
        "solve_s_max": float(solve.max()),
    }


def _violation_mwh(site_hour: pd.DataFrame, steps: pd.DataFrame) -> float:
    """Energy over grid limits [MWh]: from the AC checks when they ran, else the linear import limits."""
    if "ac_violation_mw" in steps and steps["ac_converged"].notna().any():
        return float(steps["ac_violation_mw"].sum())
    return float(site_hour["grid_violation_mw"].sum())


def _finite_max(steps: pd.DataFrame, column: str) -> float:
    values = steps[column].dropna() if column in steps else pd.Series(dtype=float)
    return float(values.max()) if len(values) else float("nan")


def _finite_min(steps: pd.DataFrame, column: str) -> float:
    values = steps[column].dropna() if column in steps else pd.Series(dtype=float)
    return float(values.min()) if len(values) else float("nan")


def simulate_policies(settings, scenario: Scenario, names: list[str], progress: bool = False) -> dict[str, PolicyRun]:  # noqa: ANN001
    """Run each named policy over the scenario (what ``codispatch simulate`` and a sweep run)."""
    policies = [make_policy(name, settings, scenario) for name in names]
    runs: dict[str, PolicyRun] = {}
    for policy in policies:
        runs[policy.name] = run_policy(scenario, policy, progress=progress)
        bound = getattr(policy, "bound_emissions_t", None)
        if bound is not None:
            runs[policy.name].summary["emissions_lp_bound_tco2"] = bound
    return runs


def simulation_summary(settings, scenario: Scenario, days: int, runs: dict[str, PolicyRun]) -> dict:  # noqa: ANN001
    """The ``summary.json`` of a simulation: the scenario and each policy's figures."""
    summary = {
        "scenario": settings.scenario.name,
        "days": days,
        "sites": len(settings.sites),
        "jobs": len(scenario.jobs),
        "start": scenario.index[0].isoformat(),
        "forecast": settings.forecast.method,
        "policies": {name: r.summary for name, r in runs.items()},
    }
    _add_share_of_oracle_cut(summary["policies"])
    return summary


def finite_json(value):  # noqa: ANN001, ANN201
    """JSON has no NaN: numbers that could not be computed (e.g. no AC check ran) become null."""
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value


def _add_share_of_oracle_cut(policies: dict) -> None:
    """(agnostic - mpc) / (agnostic - oracle) emissions, when all three ran: against the oracle's
    LP bound (``share_of_oracle_cut``, conservative: the bound has fractional gangs) and against
    the oracle's executed whole-gang plan (``share_of_oracle_cut_executed``)."""
    if {"agnostic", "mpc", "oracle"} <= set(policies):
        agnostic = policies["agnostic"]["emissions_tco2"]
        mpc = policies["mpc"]["emissions_tco2"]
        for key, oracle in (("share_of_oracle_cut", policies["oracle"].get("emissions_lp_bound_tco2")),
                            ("share_of_oracle_cut_executed", policies["oracle"]["emissions_tco2"])):
            cut = agnostic - oracle if oracle is not None else 0.0
            policies["mpc"][key] = (agnostic - mpc) / cut if cut > 0 else None
