"""Simple carbon-aware baselines the controller is measured against.

* ``greedy``: each step, each released job (least slack first) goes to the allowed site that is
  cleanest *now* — green headroom first, else the lowest grid intensity — among those with room.
* ``temporal``: home site only; a job runs in the hours with the most green power forecast at its
  home before its deadline (as many hours as it needs), else waits.
"""

from __future__ import annotations

import numpy as np

from control.fleet import FleetState
from control.jobs import allowed_matrix
from control.policies.base import StepDecision
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits


def _job_arrays(state: FleetState):
    fleet = state.fleet
    jobs = state.jobs
    hours_left = ((jobs["deadline"] - state.now).dt.total_seconds() / 3600.0).to_numpy()
    allowed = allowed_matrix(jobs, fleet.names)
    best_rate = jobs["gpus"].to_numpy() * np.where(allowed, fleet.throughput[None, :], 0).max(axis=1)
    slack = hours_left - jobs["remaining_gpu_h"].to_numpy() / best_rate
    return jobs, allowed, slack


class GreedyPolicy:
    """Cleanest site now, for every released job that fits (work-conserving)."""

    name = "greedy"
    grid_aware = False

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision:
        fleet = state.fleet
        if len(state.jobs) == 0:
            return StepDecision(allocation={})
        jobs, allowed, slack = _job_arrays(state)
        names = fleet.names
        green_left = forecast.green_mw[names].to_numpy()[0].copy()
        power_left = green_left + limits.import_limit_mw[names].to_numpy()[0]
        ci = forecast.ci_g_per_kwh[names].to_numpy()[0]
        gpus_left = state.gpus_now.copy()
        allocation: dict[str, tuple[str, int]] = {}
        order = np.lexsort((-jobs["priority"].to_numpy(), slack))
        for j in order:
            gpus = int(jobs["gpus"].iat[j])
            power = gpus * fleet.gpu_facility_mw
            room = allowed[j] & (gpus_left >= gpus) & (power_left >= power - 1e-9)
            if not room.any():
                continue
            green_share = np.clip(green_left / np.maximum(power, 1e-12), 0.0, 1.0)
            cost = ci * (1.0 - green_share) * fleet.gpu_facility_mw / fleet.throughput
            s = int(np.argmin(np.where(room, cost, np.inf)))
            allocation[str(jobs["job_id"].iat[j])] = (names[s], gpus)
            gpus_left[s] -= gpus
            power_left[s] -= power[s]
            green_left[s] = max(green_left[s] - power[s], 0.0)
        return StepDecision(allocation=allocation)


class TemporalPolicy:
    """Home site only; run in the greenest forecast hours before the deadline."""

    name = "temporal"
    grid_aware = False

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision:
        fleet = state.fleet
        if len(state.jobs) == 0:
            return StepDecision(allocation={})
        jobs, _, slack = _job_arrays(state)
        pos = {n: k for k, n in enumerate(fleet.names)}
        green = forecast.green_mw[fleet.names].to_numpy()  # (n_step, n_site)
        ci = forecast.ci_g_per_kwh[fleet.names].to_numpy()
        gpus_left = state.gpus_now.copy()
        allocation: dict[str, tuple[str, int]] = {}
        for j in np.lexsort((-jobs["priority"].to_numpy(), slack)):
            s = pos[jobs["home_site"].iat[j]]
            gpus = int(jobs["gpus"].iat[j])
            if gpus_left[s] < gpus:
                continue
            rate = gpus * fleet.throughput[s]
            needed = int(np.ceil(jobs["remaining_gpu_h"].iat[j] / rate - 1e-9))
            window = int(np.floor((jobs["deadline"].iat[j] - state.now).total_seconds() / 3600.0))
            window = max(min(window, len(forecast.index)), 1)
            power = gpus * fleet.gpu_facility_mw[s]
            cost = ci[:window, s] * (1.0 - np.clip(green[:window, s] / power, 0.0, 1.0))
            # run now if now is among the `needed` cheapest hours (earliest first on ties), or if late
            rank = np.argsort(cost, kind="stable")
            if needed >= window or 0 in rank[:needed]:
                allocation[str(jobs["job_id"].iat[j])] = (fleet.names[s], gpus)
                gpus_left[s] -= gpus
        return StepDecision(allocation=allocation)
