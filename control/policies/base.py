"""What every dispatch policy returns, and the interface the simulation and the daemon call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from control.fleet import FleetState
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits


@dataclass(frozen=True)
class StepDecision:
    """The committed first step of a plan.

    Attributes
    ----------
    allocation
        ``job_id -> (site, gpus)`` for the jobs that run in this step (whole GPUs, one site each).
    status
        Solver status name, or ``"rule"`` for rule-based policies.
    build_s, solve_s
        Time to build and to solve the model [s].
    flags
        Degraded-mode or diagnostic flags raised while deciding.
    """

    allocation: dict[str, tuple[str, int]]
    status: str = "rule"
    build_s: float = 0.0
    solve_s: float = 0.0
    objective: float = float("nan")
    flags: tuple[str, ...] = ()
    plan: object | None = field(default=None, repr=False)


class Policy(Protocol):
    name: str

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision: ...
