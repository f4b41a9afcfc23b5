"""Read a solved LP back into a plan, and turn its first step into whole-GPU gang decisions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from control.mpc.build import LinearProgram
from control.mpc.inputs import MpcInputs


@dataclass(frozen=True)
class Plan:
    """The LP's plan: GPUs per (job, site, step), and per-site power."""

    gpus: np.ndarray
    """(n_job, n_site, n_step) fractional GPUs."""
    green_mw: np.ndarray
    grid_mw: np.ndarray
    unmet_gpu_h: np.ndarray


def extract_plan(inp: MpcInputs, lp: LinearProgram, x: np.ndarray) -> Plan:
    idx = lp.index
    gpus = np.zeros((inp.n_job, inp.n_site, inp.n_step))
    gpus[idx.job, idx.site, idx.step] = x[: idx.n_x]
    shape = (inp.n_site, inp.n_step)
    return Plan(
        gpus=gpus,
        green_mw=x[idx.g0 : idx.m0].reshape(shape),
        grid_mw=x[idx.m0 : idx.u0].reshape(shape),
        unmet_gpu_h=x[idx.u0 :],
    )


def slack_hours(inp: MpcInputs) -> np.ndarray:
    """Hours to spare before a job must run flat out at its fastest allowed site to finish."""
    best_rate = inp.gpus * np.where(inp.allowed, inp.throughput[None, :], 0.0).max(axis=1)
    return inp.deadline_step - inp.remaining_gpu_h / np.maximum(best_rate, 1e-12)


def round_first_step(
    inp: MpcInputs,
    first_step_gpus: np.ndarray,
    threshold: float,
    must_run_slack_h: float = 1.5,
) -> dict[int, tuple[int, int]]:
    """Whole-gang decisions for step 0.

    A released job runs, with all its GPUs on one site, when the plan gives it at least
    ``threshold`` of the work its gang could usefully do in step 0 (all of it, or what is left), or when its slack is below ``must_run_slack_h`` hours.
    Jobs are placed in order: must-run first, then priority, then planned share; each on the site
    the plan used most if it has GPUs and power (green forecast + import limit) left, else on
    another allowed site with room (must-run jobs only).

    Returns
    -------
    dict
        job row -> (site column, GPUs).
    """
    released = inp.release_step <= 0
    # Share of what the gang could usefully do this hour: a job with less than an hour of work
    # left is planned at a fraction of its gang, and must still run to finish.
    planned_work = first_step_gpus @ inp.throughput
    best_site = np.argmax(first_step_gpus, axis=1)
    useful_work = np.minimum(inp.gpus * inp.throughput[best_site], inp.remaining_gpu_h)
    share = planned_work / np.maximum(useful_work, 1e-12)
    must_run = released & (slack_hours(inp) < must_run_slack_h)
    candidate = released & ((share >= threshold - 1e-9) | must_run)
    order = np.lexsort((-share, -inp.priority, ~must_run))
    gpu_left = inp.gpu_count[:, 0].astype(float).copy()
    power_left = inp.green_mw[:, 0] + inp.import_limit_mw[:, 0]
    decisions: dict[int, tuple[int, int]] = {}
    for j in order:
        if not candidate[j]:
            continue
        need = inp.gpus[j]
        preferred = np.argsort(-first_step_gpus[j])
        sites = preferred if not must_run[j] else np.concatenate(
            [preferred[first_step_gpus[j, preferred] > 0], np.argsort(-inp.throughput)]
        )
        for s in sites:
            if not inp.allowed[j, s]:
                continue
            if not must_run[j] and first_step_gpus[j, s] <= 0:
                continue
            power = need * inp.gpu_facility_mw[s]
            if gpu_left[s] >= need and power_left[s] >= power - 1e-9:
                decisions[int(j)] = (int(s), int(need))
                gpu_left[s] -= need
                power_left[s] -= power
                break
    return decisions
