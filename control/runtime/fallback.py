"""Degraded operation of a tick: what the daemon plans with when its inputs or its solver fail.

Forecast chain (:func:`forecast_with_fallbacks`)
    the configured forecast, unless it is missing (the provider raised), stale (issued more than
    ``[runtime] forecast_max_age_h`` before the tick) or corrupt (hours or sites missing,
    non-finite or negative values); then **persistence** (each hour of the horizon takes the
    value measured at the same hour of the last 24 h, from the store's ``measurements``), then
    **climatology** (the mean of each hour of the day over the last ``climatology_days`` days of
    measurements), then **conservative** (no renewables, the region's average intensity).
Solver chain (:func:`decide_with_fallbacks`)
    the MPC; if its LP ends without a solution (infeasible, over its time limit, error): a
    **relaxed re-solve** (no line-flow constraints, the other HiGHS algorithm, twice the time);
    then the **last feasible plan shifted**: the previous tick's committed step carried one hour
    on and re-checked (job still active, site allowed, GPUs in service, power within green
    forecast + import limit); then the **deadline-safe default** (the MPC's own fallback: only
    jobs that would otherwise miss their deadline run).

Every step down the chain adds a flag that the tick stores (see docs/operations.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from control.fleet import FleetState
from control.jobs import allowed_matrix
from control.policies.base import StepDecision
from control.decision import DecisionStatus
from control.mpc.step import MpcStep
from control.policies.mpc import MpcPolicy
from control.settings.core import MpcSettings
from forecasts.bundle import ForecastBundle
from forecasts.readable import FALLBACK_ERRORS
from grid_models.limits import GridLimits

logger = logging.getLogger(__name__)

MAX_CI_G_PER_KWH = 3000.0
"""Above any grid's intensity (coal is ~1,000 gCO2/kWh): a larger value is corrupt."""


def forecast_problem(bundle: ForecastBundle, tick_time: pd.Timestamp, index: pd.DatetimeIndex, sites: list[str],
                     max_age_h: float) -> str | None:
    """Why ``bundle`` must not be planned with (``"stale"`` or ``"corrupt: ..."``), or None."""
    age_h = (tick_time - pd.Timestamp(bundle.issue_time)) / pd.Timedelta(hours=1)
    if age_h > max_age_h:
        return "stale"
    for name, frame in (("pv_mw", bundle.pv_mw), ("wind_mw", bundle.wind_mw), ("ci_g_per_kwh", bundle.ci_g_per_kwh)):
        missing_sites = [s for s in sites if s not in frame.columns]
        if missing_sites:
            return f"corrupt: {name} has no column for {missing_sites}"
        if not index.isin(frame.index).all():
            return f"corrupt: {name} misses {int((~index.isin(frame.index)).sum())} of the {len(index)} hours"
        values = frame.loc[index, sites].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            return f"corrupt: {name} has {int((~np.isfinite(values)).sum())} non-finite values"
        if (values < 0).any() or (name == "ci_g_per_kwh" and (values > MAX_CI_G_PER_KWH).any()):
            return f"corrupt: {name} has values outside [0, {MAX_CI_G_PER_KWH if name == 'ci_g_per_kwh' else 'inf'}]"
    return None


def _profile(measured: pd.DataFrame, column: str, sites: list[str]) -> pd.DataFrame | None:
    """Hour-of-day (UTC) x site mean of ``column``, or None unless all 24 hours x sites are there."""
    if measured.empty:
        return None
    frame = measured.pivot_table(index=measured["time"].dt.hour, columns="site", values=column, aggfunc="mean")
    frame = frame.reindex(index=range(24), columns=sites)
    return None if frame.isna().to_numpy().any() else frame


def fallback_forecast(measured: pd.DataFrame, tick_time: pd.Timestamp, index: pd.DatetimeIndex, sites: list[str],
                      average_ci: pd.DataFrame, climatology_days: int) -> ForecastBundle:
    """The first of persistence, climatology and conservative that the measurements allow.

    Parameters
    ----------
    measured
        Store measurements (``time``, ``site``, ``green_mw``, ``ci_g_per_kwh``) before ``tick_time``.
    average_ci
        The regions' average intensity on ``index`` x ``sites`` [gCO2/kWh] (the conservative case).

    Returns
    -------
    ForecastBundle
        ``method`` names the step used; renewables are carried in ``pv_mw`` (the measurements
        hold the total green supply) and ``wind_mw`` is zero.
    """
    zero = pd.DataFrame(0.0, index=index, columns=sites)
    past = measured[measured["time"] < tick_time]
    windows = (("persistence", pd.Timedelta(hours=24)), ("climatology", pd.Timedelta(days=climatology_days)))
    for method, window in windows:
        recent = past[past["time"] >= tick_time - window]
        green, ci = _profile(recent, "green_mw", sites), _profile(recent, "ci_g_per_kwh", sites)
        if green is not None and ci is not None:
            hours = index.hour
            return ForecastBundle(tick_time, index, pd.DataFrame(green.loc[hours].to_numpy(), index=index, columns=sites),
                                  zero, pd.DataFrame(ci.loc[hours].to_numpy(), index=index, columns=sites), method=method)
    return ForecastBundle(tick_time, index, zero, zero.copy(), average_ci.loc[index, sites], method="conservative")


def forecast_with_fallbacks(make: Callable[[], ForecastBundle], measured: Callable[[], pd.DataFrame],
                            tick_time: pd.Timestamp, index: pd.DatetimeIndex, sites: list[str],
                            average_ci: pd.DataFrame, max_age_h: float,
                            climatology_days: int) -> tuple[ForecastBundle, list[str]]:
    """The configured forecast, or the fallback chain; returns the bundle and the flags raised
    (``forecast_missing`` / ``forecast_stale`` / ``forecast_corrupt``, then ``forecast_<method>``)."""
    try:
        bundle = make()
        problem = forecast_problem(bundle, tick_time, index, sites, max_age_h)
        flag = None if problem is None else "forecast_stale" if problem == "stale" else "forecast_corrupt"
    except FALLBACK_ERRORS as exc:  # any reader's error on a missing, damaged or wrong file
        problem, flag = f"missing ({type(exc).__name__}: {exc})", "forecast_missing"
    if flag is None:
        return bundle, []
    fallback = fallback_forecast(measured(), tick_time, index, sites, average_ci, climatology_days)
    logger.warning("forecast for %s %s; planning with the %s fallback", tick_time, problem, fallback.method)
    return fallback, [flag, f"forecast_{fallback.method}"]


def _failed(decision: StepDecision) -> bool:
    return decision.solver_failed


def carried_plan(state: FleetState, forecast: ForecastBundle, limits: GridLimits,
                 last: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """The previous committed step, one hour on, keeping only what still holds: the job is
    active with work left, the site is allowed, and the site has the GPUs and the power
    (green forecast + import limit of this hour). Higher priority jobs are kept first."""
    jobs = state.jobs.set_index("job_id", drop=False)
    names = state.fleet.names
    allowed = allowed_matrix(jobs, names)
    row_of = {job_id: k for k, job_id in enumerate(jobs.index)}
    gpus_left = dict(zip(names, state.gpus_now.astype(int), strict=True))
    hour = forecast.index[0]
    power_left = {s: float(forecast.green_mw.at[hour, s] + limits.import_limit_mw.at[hour, s]) for s in names}
    per_gpu = dict(zip(names, state.fleet.gpu_facility_mw, strict=True))
    kept: dict[str, tuple[str, int]] = {}
    order = sorted(last, key=lambda j: -int(jobs.at[j, "priority"]) if j in row_of else 0)
    for job_id, (site, gpus) in ((j, last[j]) for j in order):
        if job_id not in row_of or site not in gpus_left or float(jobs.at[job_id, "remaining_gpu_h"]) <= 1e-6:
            continue
        if not allowed[row_of[job_id], names.index(site)]:
            continue
        if gpus > gpus_left[site] or gpus * per_gpu[site] > power_left[site] + 1e-9:
            continue
        gpus_left[site] -= gpus
        power_left[site] -= gpus * per_gpu[site]
        kept[job_id] = (site, gpus)
    return kept


def decide_with_fallbacks(settings: MpcSettings, state: FleetState, forecast: ForecastBundle, limits: GridLimits,
                          last: dict[str, tuple[str, int]], step: MpcStep | None = None,
                          ) -> tuple[StepDecision, list[str]]:
    """The MPC's decision, or the next step of the solver chain; returns it and the flags raised.

    ``step`` is the daemon's :class:`MpcStep`, kept between ticks so that each tick's LP starts
    from the last tick's basis (None: a new step, solved cold, as a one-shot ``codispatch tick``)."""
    decision = MpcPolicy(settings, use_network=True, step=step).decide(state, forecast, limits)
    if not _failed(decision):
        return decision, []
    flags = list(decision.flags)
    relaxed_settings = settings.model_copy(update={"solver_time_limit_s": 2 * settings.solver_time_limit_s,
                                                   "solver": "simplex" if settings.solver == "ipm" else "ipm"})
    relaxed_limits = replace(limits, ptdf=None, branch_names=[], branch_limit_mw=None, base_flow_mw=None)
    relaxed = MpcPolicy(relaxed_settings, use_network=False).decide(state, forecast, relaxed_limits)
    if not _failed(relaxed):
        logger.warning("tick %s: MPC failed (%s); the relaxed re-solve succeeded", state.now, flags[0])
        return replace(relaxed, flags=()), [*flags, "solver_relaxed"]
    carried = carried_plan(state, forecast, limits, last)
    if carried:
        logger.warning("tick %s: MPC and relaxed re-solve failed; %d jobs of the last plan carried on", state.now,
                       len(carried))
        return StepDecision(allocation=carried, status=DecisionStatus.LAST_PLAN), [*flags, "solver_last_plan"]
    logger.warning("tick %s: no solution and no last plan; deadline-safe default (%d jobs)", state.now,
                   len(decision.allocation))
    return replace(decision, status=DecisionStatus.DEADLINE_SAFE, flags=()), [*flags, "solver_deadline_safe"]
