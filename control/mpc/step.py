"""One MPC step: build, solve and extract, with the warm-start state held explicitly.

Every caller that plans with the MPC goes through :class:`MpcStep`: the receding-horizon policy
(one step per simulated hour), the perfect-foresight oracle (one step over the whole period), the
bench (one step at fleet scale) and the daemon's tick (one step per hour; the daemon keeps the
same :class:`MpcStep` between ticks, so its LPs warm-start from the last tick's basis; after a
restart the first tick is cold). It is a thin orchestrator over :mod:`~control.mpc.inputs`,
:mod:`~control.mpc.classes`, :mod:`~control.mpc.build`, :mod:`~control.mpc.solve`,
:mod:`~control.mpc.extract` and :mod:`~control.mpc.warm`; it adds no modelling of its own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from control.fleet import FleetState
from control.mpc.build import LinearProgram, build_lp, step_blocks
from control.mpc.classes import aggregate, class_keys, disaggregate_first_step
from control.mpc.extract import Plan, extract_plan, round_first_step, site_slack_hours
from control.mpc.inputs import MpcInputs, build_inputs
from control.mpc.solve import SolveResult, solve_lp
from control.mpc.warm import Basis, JobNumbers, LpKeys, carry_basis, class_tags, lp_keys
from control.settings.core import MpcSettings
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits

logger = logging.getLogger(__name__)


@dataclass
class WarmState:
    """What one step hands to the next: the stable job numbering (class keys) and the last
    optimal basis with the keys of its columns and rows. Empty = the next solve is cold."""

    job_numbers: JobNumbers = field(default_factory=JobNumbers)
    last: tuple[Basis, LpKeys] | None = None

    @property
    def has_basis(self) -> bool:
        return self.last is not None


@dataclass(frozen=True)
class StepResult:
    """Everything one step built, solved and extracted (the bench and the oracle read the parts)."""

    inputs: MpcInputs
    class_of_job: np.ndarray
    classes: MpcInputs
    """The job classes the LP plans (see :mod:`control.mpc.classes`)."""
    lp: LinearProgram
    solve: SolveResult
    plan: Plan | None
    """None when the solver found no solution."""
    decisions: dict[int, tuple[int, int]]
    """``job row -> (site position, GPUs)`` of the committed first step (whole gangs)."""
    build_s: float
    warm_started: bool
    """The solve was given a basis carried from the previous step."""

    def allocation(self, site_names: list[str]) -> dict[str, tuple[str, int]]:
        """``job_id -> (site, GPUs)`` of the committed first step."""
        return {str(self.inputs.job_ids[j]): (site_names[s], gpus) for j, (s, gpus) in self.decisions.items()}


def commit_first_step(inputs: MpcInputs, class_of_job: np.ndarray, class_first_gpus: np.ndarray,
                      run_fraction_threshold: float) -> dict[int, tuple[int, int]]:
    """Share the classes' first-step GPUs among their member jobs and round to whole gangs."""
    first = disaggregate_first_step(inputs, class_of_job, class_first_gpus, site_slack_hours(inputs))
    return round_first_step(inputs, first, run_fraction_threshold)


class MpcStep:
    """Build, solve and extract one step; holds the warm start between steps.

    Parameters
    ----------
    settings
        The ``[mpc]`` settings (penalties, solver, time limit, warm start, move blocking).
    use_network
        Include line-flow (PTDF) constraints when the grid model provides them.
    move_blocking
        Plan hour by hour for ``hourly_h``, then in ``block_h`` blocks (the controller's setting);
        False plans every hour (the oracle's whole-period LP).
    time_limit_s
        Solver time limit instead of ``settings.solver_time_limit_s``.
    """

    def __init__(self, settings: MpcSettings, use_network: bool = True, move_blocking: bool = True,
                 time_limit_s: float | None = None) -> None:
        self.settings = settings
        self.use_network = use_network
        self.move_blocking = move_blocking
        self.time_limit_s = settings.solver_time_limit_s if time_limit_s is None else time_limit_s
        self.warm = WarmState()

    def run(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits,
            include_upcoming: bool = True) -> StepResult | None:
        """Plan from ``state`` over ``forecast.index``; None when no job is active or upcoming."""
        settings = self.settings
        started = time.perf_counter()
        inputs = build_inputs(state, forecast, limits, use_network=self.use_network, include_upcoming=include_upcoming,
                              green_quantile=settings.green_quantile)
        if inputs.n_job == 0:
            return None
        class_of_job = class_keys(inputs)
        classes = aggregate(inputs, class_of_job)
        blocks = step_blocks(classes.n_step, settings.hourly_h, settings.block_h) if self.move_blocking else None
        lp = build_lp(classes, settings, blocks)
        keys = basis = None
        if settings.warm_start:
            tags = class_tags(self.warm.job_numbers.of(inputs.job_ids), class_of_job, classes.n_job)
            first_hour = int(forecast.index[0].value // pd.Timedelta(hours=1).value)
            keys = lp_keys(lp, tags, first_hour, classes.n_site, classes.n_step)
            basis = carry_basis(*self.warm.last, keys, lp) if self.warm.last is not None else None
        build_s = time.perf_counter() - started
        result = solve_lp(lp, time_limit_s=self.time_limit_s, solver=settings.solver, basis=basis,
                          return_basis=settings.warm_start)
        self.warm.last = (result.basis, keys) if result.basis is not None and keys is not None else None
        if result.x is None:
            logger.warning("MPC solve at %s ended %s; running deadline-critical jobs only", state.now, result.status)
            plan = None
            # no plan: only must-run jobs are placed
            decisions = round_first_step(inputs, np.zeros((inputs.n_job, inputs.n_site)),
                                         settings.run_fraction_threshold)
        else:
            plan = extract_plan(classes, lp, result.x)
            decisions = commit_first_step(inputs, class_of_job, plan.gpus[:, :, 0], settings.run_fraction_threshold)
        return StepResult(inputs, class_of_job, classes, lp, result, plan, decisions, build_s, basis is not None)
