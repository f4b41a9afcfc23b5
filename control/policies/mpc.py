"""The receding-horizon (model predictive) controller."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from control.fleet import FleetState
from control.mpc import build_inputs, build_lp, extract_plan, round_first_step, solve_lp
from control.mpc.build import step_blocks
from control.mpc.classes import aggregate, class_keys, disaggregate_first_step
from control.mpc.extract import site_slack_hours
from control.mpc.warm import Basis, JobNumbers, LpKeys, carry_basis, class_tags, lp_keys
from control.policies.base import StepDecision
from control.settings.core import MpcSettings
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits

logger = logging.getLogger(__name__)


class MpcPolicy:
    """Solve the horizon LP with HiGHS, commit the first step as whole-GPU gangs.

    Parameters
    ----------
    settings
        The ``[mpc]`` settings.
    use_network
        Include line-flow (PTDF) constraints when the grid model provides them.
    name
        Policy name in reports.
    """

    def __init__(self, settings: MpcSettings, use_network: bool = True, name: str = "mpc") -> None:
        self.settings = settings
        self.use_network = use_network
        self.name = name
        self.grid_aware = use_network
        self._job_numbers = JobNumbers()
        self._last: tuple[Basis, LpKeys] | None = None
        """The last optimal basis and its keys: the next step's warm start."""

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision:
        started = time.perf_counter()
        inputs = build_inputs(state, forecast, limits, use_network=self.use_network)
        if inputs.n_job == 0:
            return StepDecision(allocation={}, status="no_jobs")
        class_of_job = class_keys(inputs)
        classes = aggregate(inputs, class_of_job)
        lp = build_lp(classes, self.settings, step_blocks(classes.n_step, self.settings.hourly_h, self.settings.block_h))
        warm = self.settings.warm_start
        keys = basis = None
        if warm:
            tags = class_tags(self._job_numbers.of(inputs.job_ids), class_of_job, classes.n_job)
            first_hour = int(forecast.index[0].value // pd.Timedelta(hours=1).value)
            keys = lp_keys(lp, tags, first_hour, classes.n_site, classes.n_step)
            basis = carry_basis(*self._last, keys, lp) if self._last is not None else None
        build_s = time.perf_counter() - started
        result = solve_lp(lp, time_limit_s=self.settings.solver_time_limit_s, solver=self.settings.solver, basis=basis,
                          return_basis=warm)
        self._last = (result.basis, keys) if result.basis is not None and keys is not None else None
        flags: tuple[str, ...] = ()
        if result.x is None:
            logger.warning("MPC solve at %s ended %s; running deadline-critical jobs only", state.now, result.status)
            first = np.zeros((inputs.n_job, inputs.n_site))  # no plan: only must-run jobs are placed
            plan = None
            flags = (f"solver_{result.status}",)
        else:
            plan = extract_plan(classes, lp, result.x)
            first = disaggregate_first_step(inputs, class_of_job, plan.gpus[:, :, 0], site_slack_hours(inputs))
        decisions = round_first_step(inputs, first, self.settings.run_fraction_threshold)
        names = state.fleet.names
        allocation = {str(inputs.job_ids[j]): (names[s], gpus) for j, (s, gpus) in decisions.items()}
        return StepDecision(
            allocation=allocation,
            status=str(result.status),
            build_s=build_s,
            solve_s=result.solve_s,
            objective=result.objective,
            flags=flags,
            plan=plan,
        )
