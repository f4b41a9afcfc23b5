"""Read a solved LP back into a plan, and turn its first step into whole-GPU gang decisions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from control.mpc.build import LinearProgram, column_hours
from control.mpc.inputs import MpcInputs


@dataclass(frozen=True)
class Plan:
    """The LP's plan: GPUs per (job, site, step), and per-site power."""

    gpus: np.ndarray
    """(n_job, n_site, n_step) fractional GPUs."""
    green_mw: np.ndarray
    grid_mw: np.ndarray
    export_mw: np.ndarray
    unmet_gpu_h: np.ndarray


def extract_plan(inp: MpcInputs, lp: LinearProgram, x: np.ndarray) -> Plan:
    idx = lp.index
    gpus = np.zeros((inp.n_job, inp.n_site, inp.n_step))
    col, step = column_hours(idx)  # a column covering several hours has the same GPUs in each
    gpus[idx.job[col], idx.site[col], step] = x[: idx.n_x][col]
    shape = (inp.n_site, inp.n_step)
    return Plan(
        gpus=gpus,
        green_mw=x[idx.g0 : idx.m0].reshape(shape),
        grid_mw=x[idx.m0 : idx.e0].reshape(shape),
        export_mw=x[idx.e0 : idx.u0].reshape(shape),
        unmet_gpu_h=x[idx.u0 :],
    )


def site_slack_hours(inp: MpcInputs) -> np.ndarray:
    """(n_job, n_site) hours to spare if the job ran flat out at that site until done (-inf where not allowed)."""
    rate = inp.gpus[:, None] * inp.throughput[None, :]
    slack = inp.deadline_step[:, None] - inp.remaining_gpu_h[:, None] / np.maximum(rate, 1e-12)
    return np.where(inp.allowed, slack, -np.inf)


def round_first_step(
    inp: MpcInputs,
    first_step_gpus: np.ndarray,
    threshold: float,
    must_run_slack_h: float = 2.0,
) -> dict[int, tuple[int, int]]:
    """Whole-gang decisions for step 0.

    A released job runs, with all its GPUs on one site, when the plan gives it at least
    ``threshold`` of the work its gang could usefully do in step 0 (all of it, or what is left),
    or when its slack at its fastest allowed site is below ``must_run_slack_h`` hours. Jobs are
    placed in order: priority first (a job is never displaced by a lower-priority one), then
    must-run, then planned share. A job goes to the site the
    plan used most if it has GPUs and power (green forecast + import limit) left and the job can
    still meet its deadline there; otherwise (must-run jobs) to the allowed site with the most
    slack that has room.

    Returns
    -------
    dict
        job row -> (site column, GPUs).
    """
    released = inp.release_step <= 0
    min_gpus = inp.gpus if inp.min_gpus is None else inp.min_gpus
    planned_work = first_step_gpus @ inp.throughput
    best_site = np.argmax(first_step_gpus, axis=1)
    # the smallest gang the job may run on (its whole gang unless elastic) sets the bar
    useful_work = np.minimum(min_gpus * inp.throughput[best_site], inp.remaining_gpu_h)
    share = planned_work / np.maximum(useful_work, 1e-12)
    site_slack = site_slack_hours(inp)
    must_run = released & (site_slack.max(axis=1) < must_run_slack_h)
    candidate = released & ((share >= threshold - 1e-9) | must_run)
    order = np.lexsort((-share, ~must_run, -inp.priority))
    gpu_left = inp.gpu_count[:, 0].astype(float).copy()
    power_left = inp.green_mw[:, 0] + inp.import_limit_mw[:, 0]
    decisions: dict[int, tuple[int, int]] = {}
    for j in order:
        if not candidate[j]:
            continue
        planned = [s for s in np.argsort(-first_step_gpus[j]) if first_step_gpus[j, s] > 0]
        on_time = [s for s in planned if site_slack[j, s] >= min(must_run_slack_h, site_slack[j].max()) - 1e-9]
        sites = on_time if not must_run[j] else on_time + list(np.argsort(-site_slack[j]))
        if not must_run[j] and not sites:
            sites = planned[:1] if site_slack[j, planned[0]] >= 1.0 else list(np.argsort(-site_slack[j]))[:1]
        for s in sites:
            if not inp.allowed[j, s]:
                continue
            gpus = _gang_size(inp, j, s, first_step_gpus[j, s], min_gpus[j], must_run[j])
            fits = min(gpu_left[s], np.floor((power_left[s] + 1e-9) / inp.gpu_facility_mw[s]))
            gpus = min(gpus, fits)
            if gpus >= min_gpus[j]:
                decisions[int(j)] = (int(s), int(gpus))
                gpu_left[s] -= gpus
                power_left[s] -= gpus * inp.gpu_facility_mw[s]
                break
    return decisions


def _gang_size(inp: MpcInputs, j: int, s: int, planned_gpus: float, min_gpus: float, must_run: bool) -> float:
    """GPUs to give job ``j`` at site ``s``: its whole gang, or for an elastic job what the plan
    gave it (all of its maximum when it must run), rounded up, within its range and never more
    than its remaining work can use."""
    if min_gpus >= inp.gpus[j]:
        return float(inp.gpus[j])
    wanted = inp.gpus[j] if must_run else np.ceil(planned_gpus - 1e-6)
    usable = np.ceil(inp.remaining_gpu_h[j] / inp.throughput[s] - 1e-9)
    return float(np.clip(min(wanted, usable), min_gpus, inp.gpus[j]))
