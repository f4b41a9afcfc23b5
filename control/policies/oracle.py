"""Perfect-foresight optimum: the MPC's model solved once over the whole period with actual data.

It knows every job and the real weather from the start. The emissions of its LP plan
(``emissions_lp_bound_tco2``: fractional gangs, no re-planning needed) are the bound no online
policy can beat, and the reference of ``share_of_oracle_cut``. The plan is also carried out hour by
hour with the MPC's whole-gang rounding (its ``emissions_tco2``); followed open-loop, that execution
loses to the closed-loop MPC when both see perfect data, which is why the bound, not the executed
plan, is the reference.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import pandas as pd

from control.decision import DecisionStatus
from control.fleet import FleetState
from control.mpc import build_inputs
from control.mpc.step import MpcStep, commit_first_step
from control.policies.base import StepDecision
from control.settings.core import MpcSettings
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits

logger = logging.getLogger(__name__)


class OraclePolicy:
    """Solve once over ``index`` with actual supply; then follow the plan.

    Parameters
    ----------
    settings
        The ``[mpc]`` settings (penalties, solver).
    actual
        ``index -> ForecastBundle`` of realised values (the provider's ``actual``).
    limits
        ``index -> GridLimits`` (the grid model's ``limits``).
    index
        The hours of the run.
    """

    name = "oracle"
    grid_aware = True

    def __init__(self, settings: MpcSettings, actual, limits, index: pd.DatetimeIndex) -> None:
        self.settings = settings
        self._actual = actual
        self._limits = limits
        self.index = index
        self._plan: np.ndarray | None = None
        self._class_of: dict[str, int] = {}
        self.solve_s = 0.0
        self.build_s = 0.0
        self.bound_emissions_t: float | None = None
        """Grid emissions of the whole-period LP plan (fractional gangs) [tCO2]: the bound."""

    def _solve_period(self, state: FleetState) -> None:
        started = time.perf_counter()
        period = pd.date_range(state.now, self.index[-1], freq="h")
        bundle = self._actual(period)
        limits = self._limits(period)
        everything = dataclasses.replace(state, upcoming=state.upcoming[state.upcoming["release"] <= period[-1]])
        # the whole period in one LP, every hour planned (no move blocking), cold
        whole = MpcStep(self.settings.model_copy(update={"warm_start": False}), move_blocking=False,
                        time_limit_s=max(self.settings.solver_time_limit_s, 600.0))
        reading_s = time.perf_counter() - started  # the actual data and limits of the period
        step = whole.run(everything, bundle, limits, include_upcoming=True)
        if step is None:
            raise RuntimeError(f"the oracle has no job to plan over {period[0]} .. {period[-1]}")
        result, inputs, classes, class_of_job = step.solve, step.inputs, step.classes, step.class_of_job
        self.build_s = reading_s + step.build_s
        self.solve_s = result.solve_s
        if step.plan is None:
            raise RuntimeError(f"the oracle's whole-period LP ended {result.status}: {result.message}")
        plan = step.plan
        self._plan = plan.gpus
        self.bound_emissions_t = float((plan.grid_mw * classes.ci_g_per_kwh).sum() / 1000.0)
        self._class_of = dict(zip(inputs.job_ids, class_of_job, strict=True))
        self._start = state.now
        logger.info("oracle: %d jobs in %d classes over %d h solved in %.1f s",
                    inputs.n_job, classes.n_job, len(period), result.solve_s)

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision:
        first_call = self._plan is None
        if first_call:
            self._solve_period(state)
        step = int((state.now - self._start) / pd.Timedelta(hours=1))
        inputs = build_inputs(state, forecast, limits, include_upcoming=False)
        if inputs.n_job == 0:
            return StepDecision(allocation={}, status=DecisionStatus.NO_JOBS)
        class_of_job = np.array([self._class_of[j] for j in inputs.job_ids])
        assert self._plan is not None  # solved on the first call
        class_first = self._plan[:, :, step] if step < self._plan.shape[2] else np.zeros(self._plan.shape[:2])
        decisions = commit_first_step(inputs, class_of_job, class_first, self.settings.run_fraction_threshold)
        names = state.fleet.names
        allocation = {str(inputs.job_ids[j]): (names[s], gpus) for j, (s, gpus) in decisions.items()}
        return StepDecision(allocation=allocation, status=DecisionStatus.OPTIMAL,
                            build_s=self.build_s if first_call else 0.0,
                            solve_s=self.solve_s if first_call else 0.0)
