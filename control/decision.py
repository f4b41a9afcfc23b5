"""What one decided step is: the committed first step of a plan (every policy and the MPC step
return it; a domain type, so the pure MPC can build it without importing the policies)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    plan
        The MPC's whole plan (:class:`control.mpc.extract.Plan`), when one was solved.
    iterations, warm_started
        Simplex iterations of the solve, and whether it started from the last step's basis.
    """

    allocation: dict[str, tuple[str, int]]
    status: str = "rule"
    build_s: float = 0.0
    solve_s: float = 0.0
    objective: float = float("nan")
    flags: tuple[str, ...] = ()
    plan: object | None = field(default=None, repr=False)
    iterations: int = 0
    warm_started: bool = False
