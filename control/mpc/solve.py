"""Solve a :class:`LinearProgram` with HiGHS; the outcome is a typed status, not an exception."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import highspy
import numpy as np

from control.mpc.build import LinearProgram
from control.mpc.warm import Basis

logger = logging.getLogger(__name__)


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT)


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    x: np.ndarray | None
    objective: float
    solve_s: float
    iterations: int
    message: str = ""
    basis: Basis | None = None
    """The optimal simplex basis (for the next step's warm start), when HiGHS has one."""


_STATUS = {
    highspy.HighsModelStatus.kOptimal: SolveStatus.OPTIMAL,
    highspy.HighsModelStatus.kTimeLimit: SolveStatus.TIME_LIMIT,
    highspy.HighsModelStatus.kInfeasible: SolveStatus.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: SolveStatus.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE,
}


AUTO_IPM_MIN_COLUMNS = 10_000
"""``solver="auto"``, cold start: interior point from this many columns up, dual simplex below."""
AUTO_WARM_MAX_COLUMNS = 20_000
"""``solver="auto"`` with a carried basis: dual simplex from it below this many columns.

Measured on this machine: hourly LPs of the year simulation (~2,000 columns) dual simplex 19 ms
cold, 5 ms warm, interior point 27 ms; the default scenario's week (~20,000 columns) 1.0 s cold
simplex, 0.9 s warm, 1.1 s interior point; the 10,000-job bench (19,000 columns with blocks,
37,000 without) interior point 0.9 s / 3 s, cold dual simplex 4.3 s / 20 s, and warm dual simplex
from the last hour's repaired basis 29 s at 37,000 columns."""


def solve_lp(lp: LinearProgram, time_limit_s: float = 60.0, solver: str = "auto", basis: Basis | None = None,
             return_basis: bool = False) -> SolveResult:
    """Solve with HiGHS; ``solver`` is ``auto``, ``ipm`` or ``simplex``. A ``basis`` (from
    :func:`control.mpc.warm.carry_basis`) makes the dual simplex start from it; ``return_basis``
    puts the optimal basis in the result (for the next step's warm start)."""
    n_col = lp.a.shape[1]
    if solver == "auto":
        if basis is not None and n_col < AUTO_WARM_MAX_COLUMNS:
            solver = "simplex"
        else:
            solver = "ipm" if n_col >= AUTO_IPM_MIN_COLUMNS else "simplex"
    if solver != "simplex":
        basis = None  # the interior point starts cold
    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("solver", solver)
    model = highspy.HighsLp()
    model.num_col_ = lp.a.shape[1]
    model.num_row_ = lp.a.shape[0]
    model.col_cost_ = lp.c
    model.col_lower_ = lp.col_lb
    model.col_upper_ = np.where(np.isinf(lp.col_ub), highspy.kHighsInf, lp.col_ub)
    model.row_lower_ = np.where(np.isinf(lp.row_lb), -highspy.kHighsInf, lp.row_lb)
    model.row_upper_ = np.where(np.isinf(lp.row_ub), highspy.kHighsInf, lp.row_ub)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = lp.a.indptr
    model.a_matrix_.index_ = lp.a.indices
    model.a_matrix_.value_ = lp.a.data
    started = time.perf_counter()
    h.passModel(model)
    if basis is not None:
        h.setBasis(_highs_basis(basis))
    h.run()
    elapsed = time.perf_counter() - started
    model_status = h.getModelStatus()
    status = _STATUS.get(model_status, SolveStatus.ERROR)
    info = h.getInfo()
    x = None
    objective = float("nan")
    optimal_basis = None
    if status.has_solution and info.primal_solution_status == 2:
        x = np.asarray(h.getSolution().col_value)
        objective = float(info.objective_function_value)
        found = h.getBasis() if return_basis else None
        if found is not None and found.valid:
            optimal_basis = Basis(np.array([int(v) for v in found.col_status], dtype=np.int8),
                                  np.array([int(v) for v in found.row_status], dtype=np.int8))
    elif status.has_solution:
        status = SolveStatus.ERROR if status is SolveStatus.OPTIMAL else status
    logger.debug("HiGHS %s in %.3f s (%d cols, %d rows)", status, elapsed, model.num_col_, model.num_row_)
    return SolveResult(status, x, objective, elapsed, int(info.simplex_iteration_count),
                       h.modelStatusToString(model_status), optimal_basis)


_BANNER_LOCK = threading.Lock()
_banner_done = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance. HiGHS writes its banner to file descriptor 1 (stdout) when the
    first instance of a process is made, before any option can silence it: that one is made with
    stdout pointed at a temporary file, and the banner goes to this module's log (DEBUG), so
    ``tick`` and the daemon print only their own output."""
    global _banner_done
    with _BANNER_LOCK:
        if _banner_done:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            with tempfile.TemporaryFile() as capture:
                os.dup2(capture.fileno(), 1)
                try:
                    h = highspy.Highs()
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                capture.seek(0)
                banner = capture.read().decode("utf-8", "replace").strip()
            _banner_done = True
            if banner:
                logger.debug("HiGHS: %s", banner.replace("\n", " | "))
    h.silent()
    return h


_STATUS_ENUM = [highspy.HighsBasisStatus(k) for k in range(5)]


def _highs_basis(basis: Basis) -> highspy.HighsBasis:
    out = highspy.HighsBasis()
    out.col_status = [_STATUS_ENUM[v] for v in basis.col_status.tolist()]
    out.row_status = [_STATUS_ENUM[v] for v in basis.row_status.tolist()]
    out.valid = True
    out.alien = True  # carried from another LP: HiGHS checks and repairs it
    return out
