"""What a finished tick's jobs really did in the hour, as :class:`JobHourRecord` rows.

The file adapter is a dry run: the plan is carried out by the simulation's own rule
(:func:`control.simulate.execute_hour`: a migrating job waits for its checkpoint with its GPUs
idle, a job stops drawing power when its work is done), so the daemon's progress and ledger are
those ``codispatch simulate`` computes for the same decisions. A workload manager with
accounting (Slurm's ``sacct``) replaces the modelled hour by what it measured
(:func:`from_accounting`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.fleet import Fleet
from control.policies.base import StepDecision
from control.simulate import execute_hour
from control.store import Store
from control.store.repository import utc
from control.store.tables import JobHourRecord


@dataclass(frozen=True)
class Accounted:
    """One job's hour as the workload manager accounted it."""

    job_id: str
    gpus: int
    """GPUs really allocated."""
    elapsed_h: float
    """Time it ran within the hour [h] (< 1 when it ended, failed or was cancelled early)."""
    state: str
    """``running`` | ``completed`` | ``failed`` | ``cancelled``."""


def modelled_hour(store: Store, fleet: Fleet, tick_time: pd.Timestamp,
                  accounted: dict[str, Accounted] | None = None) -> list[JobHourRecord]:
    """The job hours of the tick at ``tick_time``: the plan carried out by the simulation's rule,
    with each job's GPUs and running time replaced by the workload manager's accounting when
    ``accounted`` has it (fewer GPUs, an early end, a failure, a cancellation)."""
    stamp = utc(tick_time)
    plan = store.plans([stamp])
    if plan.empty:
        return []
    jobs = store.jobs_frame().set_index("job_id", drop=False)
    left = store.transfer_left_h()
    jobs["transfer_left_h"] = [left.get(j, 0.0) for j in jobs.index]
    site_pos = {name: k for k, name in enumerate(fleet.names)}
    allocation = {}
    for row in plan.sort_values("job_id").itertuples(index=False):
        gpus = int(row.gpus)
        if accounted and row.job_id in accounted:
            gpus = accounted[row.job_id].gpus
        allocation[row.job_id] = (row.site, gpus)
    hour = execute_hour(StepDecision(allocation=allocation), jobs, fleet, site_pos)
    records = []
    for job_id, (site, gpus) in allocation.items():
        done, it_mwh, transfer_left, migrated = hour.jobs[job_id]
        state = "running"
        if accounted and job_id in accounted:
            info = accounted[job_id]
            share = float(np.clip(info.elapsed_h, 0.0, 1.0))
            done, it_mwh, state = done * share, it_mwh * share, info.state
        s = site_pos[site]
        records.append(JobHourRecord(time=stamp, job_id=job_id, site=site, gpus=gpus, work_gpu_h=float(done),
                                     it_energy_mwh=float(it_mwh), facility_energy_mwh=float(it_mwh * fleet.pue[s]),
                                     transfer_left_h=float(transfer_left), migrated=bool(migrated), state=state,
                                     source="sacct" if accounted and job_id in accounted else "model"))
    return records
