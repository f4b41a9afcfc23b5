"""What one decided step is: the committed first step of a plan (every policy and the MPC step
return it; a domain type, so the pure MPC can build it without importing the policies)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class DecisionStatus(StrEnum):
    """How a step was decided: the solver's outcome (the values of
    :class:`control.mpc.solve.SolveStatus`), or how a decision was made without one."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"
    NO_JOBS = "no_jobs"
    """Nothing to plan."""
    RULE = "rule"
    """A rule-based policy (no solver)."""
    LAST_PLAN = "last_plan"
    """The solver chain failed; the last plan was carried on."""
    DEADLINE_SAFE = "deadline_safe"
    """The solver chain failed and there was no last plan: deadline-critical jobs only."""


@dataclass(frozen=True)
class StepDecision:
    """The committed first step of a plan.

    Attributes
    ----------
    allocation
        ``job_id -> (site, gpus)`` for the jobs that run in this step (whole GPUs, one site each).
    status
        The solver's outcome, or how the step was decided without one (:class:`DecisionStatus`).
    solver_failed
        The solver returned no plan (so only deadline-critical jobs were placed); the runtime's
        solver fallback chain takes over.
    build_s, solve_s
        Time to build and to solve the model [s].
    flags
        Degraded-mode or diagnostic flags raised while deciding.
    plan
        The MPC's whole plan (:class:`control.mpc.extract.Plan`), when one was solved.
    iterations, warm_started
        Simplex iterations of the solve, and whether it started from the last step's basis.
    """

    allocation: dict[str, tuple[str, int]]
    status: DecisionStatus = DecisionStatus.RULE
    build_s: float = 0.0
    solve_s: float = 0.0
    objective: float = float("nan")
    flags: tuple[str, ...] = ()
    plan: object | None = field(default=None, repr=False)
    iterations: int = 0
    warm_started: bool = False
    solver_failed: bool = False
