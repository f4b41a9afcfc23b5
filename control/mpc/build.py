"""Build the receding-horizon LP from :class:`MpcInputs` (vectorised, scipy.sparse).

Variables
---------
``x[j,s,t]``  GPUs of job ``j`` busy at site ``s`` in step ``t`` (only where the job may run)
``g[s,t]``    green power used [MW]        0 <= g <= green forecast
``m[s,t]``    grid import [MW]             0 <= m <= import limit
``e[s,t]``    green power exported [MW]    0 <= e <= export limit   (the rest is curtailed)
``u[j]``      work missing at the deadline (or still needed inside the horizon) [ref-GPU h]

Constraints (one ``define_*`` function per family)
---------------------------------------------------
balance      sum_j x * P_s - g - m = 0                         (facility power, MW)
green split  g + e <= green forecast
gpu capacity g + m <= GPUs_s * P_s                           (= sum_j x <= GPUs_s, by the balance)
gang rate    sum_s x[j,s,t] <= gpus_j                          (a job is one gang)
work         need_j <= sum x * k_s + u_j <= remaining_j
lines        -F' <= base + PTDF m <= F'                        (when a network is given;
             F' = max(F, |base|): a branch already overloaded without the data centres
             may not get worse)

Objective [tCO2]: grid emissions (+ weighted electricity cost) + deadline penalty + migration cost - value of work done now,
where the migration cost of running a job away from the site it last ran at is the emissions of
its idle checkpoint-transfer interval spread over its remaining GPU-hours, and the value of
a reference-GPU hour is the mean grid cost of the cheapest allowed site over the horizon (the
cost the work would have later), so green hours now are taken and plain grid hours are neutral.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from control.mpc.classes import required_in_horizon
from control.mpc.inputs import MpcInputs
from control.settings.core import MpcSettings


EXPORT_CREDIT = 1e-3
"""Share of the grid intensity credited to exported green power (a tie-breaker, not an offset)."""


@dataclass(frozen=True)
class VariableIndex:
    """Where each variable family sits in the column vector."""

    job: np.ndarray
    site: np.ndarray
    step: np.ndarray
    """First step each ``x`` column covers."""
    hours: np.ndarray
    """Steps each ``x`` column covers (1, or a block's hours inside the job's window)."""
    n_x: int
    g0: int
    m0: int
    e0: int
    u0: int
    n_col: int


@dataclass(frozen=True)
class LinearProgram:
    """``min c x  s.t.  row_lb <= A x <= row_ub,  col_lb <= x <= col_ub``."""

    c: np.ndarray
    col_lb: np.ndarray
    col_ub: np.ndarray
    a: sp.csc_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray
    index: VariableIndex
    row_families: dict[str, slice]


def job_windows(inp: MpcInputs) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last step each job may run in this horizon."""
    start = np.clip(inp.release_step, 0, inp.n_step)
    end = np.clip(inp.deadline_step, 0, inp.n_step)
    overdue = end <= start  # deadline passed (or inside the release hour): still run, penalised
    end = np.where(overdue, inp.n_step, end)
    return start, end


def step_blocks(n_step: int, hourly_h: int | None = None, block_h: int = 1) -> np.ndarray:
    """First step of each block of the horizon: hourly for the first ``hourly_h`` steps, then
    blocks of ``block_h`` steps (the last one shorter if the horizon ends inside it)."""
    if hourly_h is None or block_h <= 1 or hourly_h >= n_step:
        return np.arange(n_step)
    return np.concatenate([np.arange(hourly_h), np.arange(hourly_h, n_step, block_h)])


def define_variables(inp: MpcInputs, blocks: np.ndarray | None = None) -> VariableIndex:
    """One ``x`` column per job, allowed site and block of the horizon that overlaps the job's
    window; the column covers the block's hours inside the window, with the same GPUs in each
    (move blocking: a coarser plan far ahead, every hour's constraints still kept)."""
    start, end = job_windows(inp)
    first = np.arange(inp.n_step) if blocks is None else blocks
    last = np.r_[first[1:], inp.n_step]
    lo = np.maximum(first[None, :], start[:, None])  # (n_job, n_block)
    hi = np.minimum(last[None, :], end[:, None])
    mask = inp.allowed[:, :, None] & (hi > lo)[:, None, :]
    job, site, block = np.nonzero(mask)
    n_x = len(job)
    n_st = inp.n_site * inp.n_step
    return VariableIndex(job, site, lo[job, block], (hi - lo)[job, block], n_x, n_x, n_x + n_st, n_x + 2 * n_st,
                         n_x + 3 * n_st, n_x + 3 * n_st + inp.n_job)


def column_hours(idx: VariableIndex) -> tuple[np.ndarray, np.ndarray]:
    """(column, step) pairs of every hour each ``x`` column covers."""
    col = np.repeat(np.arange(idx.n_x), idx.hours)
    offset = np.arange(len(col)) - np.repeat(np.cumsum(idx.hours) - idx.hours, idx.hours)
    return col, idx.step[col] + offset


def define_bounds(inp: MpcInputs, idx: VariableIndex) -> tuple[np.ndarray, np.ndarray]:
    lb = np.zeros(idx.n_col)
    ub = np.empty(idx.n_col)
    ub[: idx.n_x] = inp.gpus[idx.job]
    ub[idx.g0 : idx.m0] = np.maximum(inp.green_mw, 0.0).ravel()
    ub[idx.m0 : idx.e0] = np.maximum(inp.import_limit_mw, 0.0).ravel()
    export = inp.export_limit_mw if inp.export_limit_mw is not None else inp.green_mw
    ub[idx.e0 : idx.u0] = np.maximum(np.minimum(export, inp.green_mw), 0.0).ravel()
    ub[idx.u0 :] = np.inf
    return lb, ub


def define_objective(inp: MpcInputs, idx: VariableIndex, settings: MpcSettings) -> np.ndarray:
    c = np.zeros(idx.n_col)
    grid_t_per_mwh = grid_cost_t_per_mwh(inp, settings)
    c[idx.m0 : idx.e0] = grid_t_per_mwh.ravel()
    # Exported green displaces grid power elsewhere: a small credit makes the controller absorb
    # what would be curtailed before it absorbs what the grid could have taken.
    c[idx.e0 : idx.u0] = -EXPORT_CREDIT * (inp.ci_g_per_kwh / 1000.0).ravel()
    c[idx.u0 :] = settings.deadline_penalty_t_per_gpu_h * (1.0 + inp.priority)
    grid_cost_per_gpu_h = grid_t_per_mwh * (inp.gpu_facility_mw / inp.throughput)[:, None]
    mean_cost = grid_cost_per_gpu_h.mean(axis=1)  # (n_site,)
    value = np.where(inp.allowed, mean_cost[None, :], np.inf).min(axis=1) * (1.0 + 1e-4)
    value = np.where(np.isfinite(value), value, 0.0)
    # per GPU over the column's hours (a column may cover several hours of a block)
    mean_step = idx.step + (idx.hours - 1) / 2.0
    c[: idx.n_x] = idx.hours * (
        -value[idx.job] * inp.throughput[idx.site] + settings.early_bias_t_per_gpu_h * mean_step
    )
    if inp.migration_t_per_gpu_h is not None:
        c[: idx.n_x] += idx.hours * inp.migration_t_per_gpu_h[idx.job, idx.site]
    return c


def grid_cost_t_per_mwh(inp: MpcInputs, settings: MpcSettings) -> np.ndarray:
    """(n_site, n_step) objective cost of one MWh from the grid: its emissions [t] plus, when
    ``cost_weight_t_per_currency`` > 0, its price times that weight."""
    cost = inp.ci_g_per_kwh / 1000.0  # gCO2/kWh = kg/MWh -> t/MWh
    if inp.tariff_per_mwh is not None and settings.cost_weight_t_per_currency > 0:
        cost = cost + settings.cost_weight_t_per_currency * inp.tariff_per_mwh
    return cost


def define_balance(inp: MpcInputs, idx: VariableIndex) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray]:
    n_st = inp.n_site * inp.n_step
    col, step = column_hours(idx)
    st = idx.site[col] * inp.n_step + step
    rows = np.concatenate([st, np.arange(n_st), np.arange(n_st)])
    cols = np.concatenate([col, idx.g0 + np.arange(n_st), idx.m0 + np.arange(n_st)])
    vals = np.concatenate([inp.gpu_facility_mw[idx.site[col]], -np.ones(n_st), -np.ones(n_st)])
    a = sp.coo_matrix((vals, (rows, cols)), shape=(n_st, idx.n_col))
    return a, np.zeros(n_st), np.zeros(n_st)


def define_green_split(inp: MpcInputs, idx: VariableIndex) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray]:
    n_st = inp.n_site * inp.n_step
    rows = np.concatenate([np.arange(n_st), np.arange(n_st)])
    cols = np.concatenate([idx.g0 + np.arange(n_st), idx.e0 + np.arange(n_st)])
    a = sp.coo_matrix((np.ones(2 * n_st), (rows, cols)), shape=(n_st, idx.n_col))
    return a, np.full(n_st, -np.inf), np.maximum(inp.green_mw, 0.0).ravel()


def define_gpu_capacity(inp: MpcInputs, idx: VariableIndex) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray]:
    """GPUs busy <= GPUs in service, written on the site's power: the balance row makes
    ``g + m`` equal ``P_s * sum_j x``, so ``g + m <= P_s * GPUs_s`` is the same constraint with
    2 entries per row instead of one per job. (Each capacity row otherwise couples every job at
    the site; on the 10,000-job bench this form cuts the interior-point solve by about a quarter.)"""
    n_st = inp.n_site * inp.n_step
    rows = np.concatenate([np.arange(n_st), np.arange(n_st)])
    cols = np.concatenate([idx.g0 + np.arange(n_st), idx.m0 + np.arange(n_st)])
    a = sp.coo_matrix((np.ones(2 * n_st), (rows, cols)), shape=(n_st, idx.n_col))
    capacity_mw = inp.gpu_count.astype(float) * inp.gpu_facility_mw[:, None]
    return a, np.full(n_st, -np.inf), capacity_mw.ravel()


def define_gang_rate(inp: MpcInputs, idx: VariableIndex) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray]:
    multi_site = inp.allowed.sum(axis=1) > 1
    keep = multi_site[idx.job]
    jt = idx.job[keep] * inp.n_step + idx.step[keep]
    unique_jt, row = np.unique(jt, return_inverse=True)
    a = sp.coo_matrix((np.ones(keep.sum()), (row, np.flatnonzero(keep))), shape=(len(unique_jt), idx.n_col))
    return a, np.full(len(unique_jt), -np.inf), inp.gpus[unique_jt // inp.n_step]


def define_work(inp: MpcInputs, idx: VariableIndex) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray]:
    rows = np.concatenate([idx.job, np.arange(inp.n_job)])
    cols = np.concatenate([np.arange(idx.n_x), idx.u0 + np.arange(inp.n_job)])
    vals = np.concatenate([inp.throughput[idx.site] * idx.hours, np.ones(inp.n_job)])
    a = sp.coo_matrix((vals, (rows, cols)), shape=(inp.n_job, idx.n_col))
    return a, required_in_horizon(inp), inp.remaining_gpu_h.astype(float)


def define_line_limits(inp: MpcInputs, idx: VariableIndex) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray]:
    if inp.ptdf is None or inp.base_flow_mw is None or inp.branch_limit_mw is None:
        return sp.coo_matrix((0, idx.n_col)), np.zeros(0), np.zeros(0)
    n_branch = inp.ptdf.shape[0]
    # Row (l, t) = sum_s ptdf[l, s] * m[s, t]: kron(ptdf, I_T) maps (s-major) columns to (l-major)
    # rows. Only the data centres' draw is constrained: exports of the sites' renewables are the
    # grid operator's to curtail, as for any other generator.
    block = sp.kron(sp.csr_matrix(inp.ptdf), sp.identity(inp.n_step), format="coo")
    a = sp.coo_matrix((block.data, (block.row, block.col + idx.m0)), shape=(n_branch * inp.n_step, idx.n_col))
    base = inp.base_flow_mw.ravel()
    limit = np.maximum(np.repeat(inp.branch_limit_mw, inp.n_step), np.abs(base))
    return a, -limit - base, limit - base


CONSTRAINT_FAMILIES = {
    "balance": define_balance,
    "green_split": define_green_split,
    "gpu_capacity": define_gpu_capacity,
    "gang_rate": define_gang_rate,
    "work": define_work,
    "lines": define_line_limits,
}


def build_lp(inp: MpcInputs, settings: MpcSettings, blocks: np.ndarray | None = None) -> LinearProgram:
    """Assemble the LP; every family is built with whole-array operations. ``blocks`` (from
    :func:`step_blocks`) makes far-ahead columns span several hours; default hourly."""
    idx = define_variables(inp, blocks)
    col_lb, col_ub = define_bounds(inp, idx)
    c = define_objective(inp, idx, settings)
    mats, lows, highs, families = [], [], [], {}
    row = 0
    for name, define in CONSTRAINT_FAMILIES.items():
        a, lo, hi = define(inp, idx)
        families[name] = slice(row, row + a.shape[0])
        row += a.shape[0]
        mats.append(a)
        lows.append(lo)
        highs.append(hi)
    a = sp.vstack(mats, format="csc")
    return LinearProgram(c, col_lb, col_ub, a, np.concatenate(lows), np.concatenate(highs), idx, families)
