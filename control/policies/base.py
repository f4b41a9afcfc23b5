"""What every dispatch policy returns, and the interface the simulation and the daemon call."""

from __future__ import annotations

from typing import Protocol

from control.decision import StepDecision
from control.fleet import FleetState
from forecasts.bundle import ForecastBundle
from grid_models.limits import GridLimits

__all__ = ["Policy", "StepDecision"]


class Policy(Protocol):
    name: str

    def decide(self, state: FleetState, forecast: ForecastBundle, limits: GridLimits) -> StepDecision: ...
