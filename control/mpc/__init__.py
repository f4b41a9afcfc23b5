"""The receding-horizon optimisation, in three separate steps: build, solve, extract."""

from control.mpc.build import LinearProgram, build_lp
from control.mpc.extract import Plan, extract_plan, round_first_step
from control.mpc.inputs import MpcInputs, build_inputs
from control.mpc.solve import SolveResult, SolveStatus, solve_lp

__all__ = [
    "LinearProgram", "MpcInputs", "Plan", "SolveResult", "SolveStatus",
    "build_inputs", "build_lp", "extract_plan", "round_first_step", "solve_lp",
]
