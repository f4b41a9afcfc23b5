"""Carbon-agnostic baseline: every job at its home site as soon as it is released."""

from __future__ import annotations

import numpy as np

from control.fleet import FleetState
from control.decision import DecisionStatus
from control.policies.base import StepDecision
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits


class AgnosticPolicy:
    """First come, first served at the home site, full gang, ignoring carbon and grid limits.

    Jobs are taken by priority (high first) then release time; a job whose gang does not fit in
    the home site's free GPUs waits (no back-filling past it at that site, as in a FIFO queue).
    """

    name = "agnostic"
    needs_forecast = False
    """It looks at neither forecast nor grid limits: the simulation passes None for both."""

    def decide(self, state: FleetState, forecast: ForecastBundle | None, limits: GridLimits | None) -> StepDecision:
        fleet = state.fleet
        free = dict(zip(fleet.names, state.gpus_now.astype(int), strict=True))
        blocked: set[str] = set()
        jobs = state.jobs.sort_values(["priority", "release", "job_id"], ascending=[False, True, True])
        allocation: dict[str, tuple[str, int]] = {}
        for job_id, site, gpus in zip(jobs["job_id"], jobs["home_site"], jobs["gpus"], strict=True):
            if site in blocked:
                continue
            if free[site] >= gpus:
                allocation[job_id] = (site, int(gpus))
                free[site] -= int(gpus)
            else:
                blocked.add(site)
        return StepDecision(allocation=allocation, status=DecisionStatus.RULE)


def home_site_index(state: FleetState) -> np.ndarray:
    """Column of each active job's home site."""
    lookup = {name: k for k, name in enumerate(state.fleet.names)}
    return state.jobs["home_site"].map(lookup).to_numpy()
