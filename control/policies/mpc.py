"""The receding-horizon (model predictive) controller."""

from __future__ import annotations

import logging

from control.decision import DecisionStatus
from control.fleet import FleetState
from control.mpc.step import MpcStep
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

    def __init__(self, settings: MpcSettings, use_network: bool = True, name: str = "mpc",
                 step: MpcStep | None = None) -> None:
        self.settings = settings
        self.use_network = use_network
        self.name = name
        self.grid_aware = use_network
        self.step = step if step is not None else MpcStep(settings, use_network=use_network)
        """The one MPC step; it holds the warm start carried from this policy's last decision."""

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision:
        step = self.step.run(state, forecast, limits)
        if step is None:
            return StepDecision(allocation={}, status=DecisionStatus.NO_JOBS)
        result = step.solve
        flags: tuple[str, ...] = () if result.x is not None else (f"solver_{result.status}",)
        return StepDecision(
            allocation=step.allocation(state.fleet.names),
            status=DecisionStatus(result.status),
            build_s=step.build_s,
            solve_s=result.solve_s,
            objective=result.objective,
            flags=flags,
            plan=step.plan,
            iterations=result.iterations,
            warm_started=step.warm_started,
            solver_failed=result.x is None,
        )
