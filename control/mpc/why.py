"""Why the controller decided what it did for each job in the committed hour (pure).

The LP's price of one more MWh at a site and hour is read from which of its constraints bind in
the plan (what the balance row's dual is when the solution is not degenerate):

* green left over (green used < green forecast): the extra MWh is green, it costs nothing;
* otherwise grid import below its limit: it costs the grid's carbon (plus the weighted tariff);
* otherwise the import limit binds: the site cannot take more power now (no grid headroom);
* all GPUs in service busy: the site is full.

A job's cost of one reference-GPU hour at a site is that price times the facility power of one
GPU over its throughput, plus the migration cost of moving there (the job's reduced cost at the
site, before its work value). The explanation names the factor that separates the chosen site
from the next-best one (green forecast, grid headroom, carbon intensity, migration cost), or,
for a job that waits, the cheaper hour ahead that its deadline slack lets it wait for.
Tests re-solve constructed cases with the named factor removed and check the decision changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from control.mpc.build import grid_cost_t_per_mwh
from control.mpc.extract import site_slack_hours
from control.mpc.inputs import MpcInputs
from control.settings.core import MpcSettings

EPS_MW = 1e-6


class Factor(StrEnum):
    GREEN_FORECAST = "green_forecast"
    GRID_HEADROOM = "grid_headroom"
    CARBON_INTENSITY = "carbon_intensity"
    MIGRATION_COST = "migration_cost"
    DEADLINE_SLACK = "deadline_slack"
    SITE_FULL = "site_full"


class Decision(StrEnum):
    RUN = "run"
    HOLD = "hold"
    """It ran in the last hour and is stopped now."""
    WAIT = "wait"


@dataclass(frozen=True)
class JobCosts:
    """(n_site, n_step) what one job's gang would meet at each site and hour, the other jobs'
    planned load left in place."""

    cost_t_per_gpu_h: np.ndarray
    """Emissions (plus weighted price) of one reference-GPU hour, migration included; inf where
    the gang does not fit (GPUs or import limit)."""
    green_spare_mw: np.ndarray
    headroom_mw: np.ndarray
    full: np.ndarray


def job_costs(inp: MpcInputs, settings: MpcSettings, total_gpus: np.ndarray, own_gpus: np.ndarray, j: int) -> JobCosts:
    """Costs of job ``j`` at every site and hour, given the plan of the other jobs (``total_gpus``
    of all jobs minus the job's ``own_gpus``, both (n_site, n_step))."""
    gpus_others = total_gpus - own_gpus
    others_mw = gpus_others * inp.gpu_facility_mw[:, None]
    green = np.maximum(inp.green_mw, 0.0)
    spare = np.maximum(green - others_mw, 0.0)
    headroom = np.maximum(inp.import_limit_mw - np.maximum(others_mw - green, 0.0), 0.0)
    gang = (inp.min_gpus[j] if inp.min_gpus is not None else inp.gpus[j])
    need = gang * inp.gpu_facility_mw[:, None] * np.ones_like(green)
    from_grid = np.maximum(need - spare, 0.0)
    full = gpus_others + gang > inp.gpu_count + 1e-6
    fits = (from_grid <= headroom + EPS_MW) & ~full
    grid_cost = grid_cost_t_per_mwh(inp, settings)
    per_gpu_h = (inp.gpu_facility_mw / inp.throughput)[:, None]
    migration = inp.migration_t_per_gpu_h[j] if inp.migration_t_per_gpu_h is not None else np.zeros(inp.n_site)
    cost = grid_cost * (from_grid / np.maximum(need, 1e-12)) * per_gpu_h + (migration / inp.throughput)[:, None]
    cost = np.where(fits & inp.allowed[j][:, None], cost, np.inf)
    return JobCosts(cost, spare, headroom, full)


def explain(inp: MpcInputs, settings: MpcSettings, job_gpus: np.ndarray, decisions: dict[int, tuple[int, int]],
            was_running: np.ndarray, site_names: list[str], must_run_slack_h: float = 2.0) -> list[dict]:
    """One explanation per released job (dicts ``job_id, decision, site, summary, factors``).

    ``job_gpus`` is the (n_job, n_site, n_step) plan per job (hour 0 = the committed step);
    ``decisions`` maps job row -> (site position, GPUs) of the committed step; ``was_running``
    marks the jobs that ran in the hour before."""
    slack = site_slack_hours(inp)
    total = job_gpus.sum(axis=0)
    out = []
    for j in np.flatnonzero(inp.release_step <= 0):
        costs = job_costs(inp, settings, total, job_gpus[j], int(j))
        decided = decisions.get(int(j))
        migration = inp.migration_t_per_gpu_h[j] if inp.migration_t_per_gpu_h is not None else np.zeros(inp.n_site)
        rows = [{
            "site": site_names[s], "green_forecast_mw": float(inp.green_mw[s, 0]),
            "green_spare_mw": float(costs.green_spare_mw[s, 0]), "grid_headroom_mw": float(costs.headroom_mw[s, 0]),
            "ci_g_per_kwh": float(inp.ci_g_per_kwh[s, 0]), "migration_t_per_gpu_h": float(migration[s]),
            "cost_t_per_gpu_h": float(costs.cost_t_per_gpu_h[s, 0]) if np.isfinite(costs.cost_t_per_gpu_h[s, 0])
            else None,
            "slack_h": float(slack[j, s]) if np.isfinite(slack[j, s]) else None, "full": bool(costs.full[s, 0]),
        } for s in np.flatnonzero(inp.allowed[j])]
        decision = Decision.RUN if decided is not None else Decision.HOLD if was_running[j] else Decision.WAIT
        factor, summary = _reason(inp, int(j), decision, decided, rows, slack[j], costs, site_names, must_run_slack_h)
        out.append({"job_id": str(inp.job_ids[j]), "decision": str(decision),
                    "site": site_names[decided[0]] if decided is not None else "", "summary": summary,
                    "factors": {"factor": str(factor), "sites": rows}})
    return out


def _cost(row: dict) -> float:
    return np.inf if row["cost_t_per_gpu_h"] is None else row["cost_t_per_gpu_h"]


def _reason(inp: MpcInputs, j: int, decision: Decision, decided: tuple[int, int] | None, rows: list[dict],
            slack: np.ndarray, costs: JobCosts, site_names: list[str], must_run_slack_h: float) -> tuple[Factor, str]:
    best_slack = float(np.max(slack[np.isfinite(slack)])) if np.isfinite(slack).any() else -np.inf
    if decision == Decision.RUN and decided is not None:
        chosen = next(r for r in rows if r["site"] == site_names[decided[0]])
        others = sorted((r for r in rows if r is not chosen), key=_cost)
        urgent = best_slack < must_run_slack_h
        lead = f"must run now (slack {best_slack:.1f} h < {must_run_slack_h:g} h); " if urgent else ""
        if not others:
            return (Factor.DEADLINE_SLACK if urgent else Factor.GREEN_FORECAST if chosen["green_forecast_mw"] > 0
                    else Factor.CARBON_INTENSITY), f"{lead}runs at {chosen['site']}, its only allowed site"
        other = others[0]
        if chosen["green_spare_mw"] > EPS_MW and other["green_spare_mw"] <= EPS_MW:
            return Factor.GREEN_FORECAST, (f"{lead}runs at {chosen['site']} on its green forecast "
                                           f"({chosen['green_forecast_mw']:.2f} MW); {other['site']} has no green "
                                           f"left and would draw grid power at {other['ci_g_per_kwh']:.0f} g/kWh")
        if other["cost_t_per_gpu_h"] is None:
            why = "is full" if other["full"] else "has no grid headroom for the gang (import limit)"
            return Factor.GRID_HEADROOM, (f"{lead}runs at {chosen['site']}: {other['site']} {why} although its "
                                          f"grid is at {other['ci_g_per_kwh']:.0f} g/kWh")
        if other["migration_t_per_gpu_h"] > chosen["migration_t_per_gpu_h"] + 1e-12:
            return Factor.MIGRATION_COST, (f"{lead}stays at {chosen['site']}: moving to {other['site']} would cost "
                                           f"{other['migration_t_per_gpu_h']:.2e} tCO2 per GPU-hour of checkpoint "
                                           f"transfer, more than its cleaner grid saves")
        if urgent:
            return Factor.DEADLINE_SLACK, f"{lead}runs at {chosen['site']}"
        return Factor.CARBON_INTENSITY, (f"runs at {chosen['site']}: grid at {chosen['ci_g_per_kwh']:.0f} g/kWh vs "
                                         f"{other['ci_g_per_kwh']:.0f} at {other['site']}")
    # waits or is held: the cheapest hour ahead within its window
    end = int(np.clip(inp.deadline_step[j], 1, inp.n_step))
    future = costs.cost_t_per_gpu_h[:, 1:end]
    now = min((_cost(r) for r in rows), default=np.inf)
    if future.size and np.isfinite(future).any():
        s, t = np.unravel_index(np.argmin(future), future.shape)
        later = float(future[s, t])
        green = costs.green_spare_mw[s, 1 + t] > EPS_MW
        if later < now - 1e-12:
            return Factor.DEADLINE_SLACK, (f"{decision}: its deadline slack ({best_slack:.1f} h) lets it wait for "
                                           f"hour +{1 + t} at {site_names[s]} "
                                           f"({'green power' if green else 'a cleaner grid'}: {later:.2e} vs "
                                           f"{now:.2e} tCO2 per GPU-hour now)")
    if all(r["full"] or r["grid_headroom_mw"] <= EPS_MW for r in rows):
        return Factor.GRID_HEADROOM, f"{decision}: no allowed site has GPUs or grid headroom left this hour"
    return Factor.DEADLINE_SLACK, (f"{decision}: other jobs with less slack or higher priority took the capacity "
                                   f"(slack {best_slack:.1f} h)")
