"""Ticks driving a real Slurm: one partition per site of the default scenario (one slurmd each,
one CPU slot standing for one GPU), real held jobs placed, moved and held by the plan."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from control.cli import main
from control.runtime.slurm import SlurmAdapter
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings

from .conftest import START, write_runtime_config
from .slurm_cluster import running_cluster


@pytest.fixture(scope="module")
def site_cluster(default_config):
    sites = load_settings(default_config).sites
    with running_cluster([s.name for s in sites], cpus_per_node=max(s.gpu_count for s in sites)) as started:
        yield started


def _settle(adapter: SlurmAdapter, want: dict[str, tuple[str, str]], timeout_s: float = 60.0) -> dict:
    """Wait until every job is in ``want``'s (site, state); returns the last observation."""
    deadline = time.time() + timeout_s
    while True:
        seen = adapter.observe()
        if all(j in seen and (seen[j].site, seen[j].state) == w for j, w in want.items()) or time.time() > deadline:
            return seen
        time.sleep(0.5)


@pytest.mark.slurm
def test_ticks_place_and_hold_real_slurm_jobs_as_planned(site_cluster, default_config, tmp_path) -> None:
    config = write_runtime_config(default_config, tmp_path, adapter="slurm")
    jobs = tmp_path / "jobs.csv"
    pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(6).to_csv(jobs, index=False)
    assert main(["submit", "--config", str(config), "--at", START, "--file", str(jobs)]) == 0
    settings = load_settings(config)
    store = open_store(settings)
    adapter = make_adapter(settings)
    assert isinstance(adapter, SlurmAdapter)
    hours = pd.date_range(START, periods=2, freq="h")
    for hour in hours:
        result = run_tick(settings, store, adapter, hour)
        assert result.status == "planned_and_sent", result
        plan = store.last_plan(hour + pd.Timedelta(hours=1), within_h=1.0)
        intents = store.intents()
        holds = intents[(intents["tick_time"].astype(str).str.startswith(str(hour)[:19].replace("T", " ")))
                        & (intents["action"] == "hold")]["job_id"]
        want = {j: (site, "running") for j, (site, _) in plan.items()} | {j: (None, "held") for j in holds}
        seen = _settle(adapter, {j: w for j, w in want.items() if w[0] is not None})
        for job_id, (site, _) in plan.items():  # released in the planned site's partition
            assert seen[job_id].site == site and seen[job_id].state == "running", (job_id, seen[job_id])
        for job_id in holds:  # deferred: back in the queue, held
            assert seen[job_id].state == "held", (job_id, seen[job_id])
        assert plan, "the plan runs some jobs"
    intents = store.intents()
    assert (intents["status"] == "applied").all()
    print("slurm ticks:", intents.groupby("action").size().to_dict(), "intents;",
          intents.groupby("job_id")["site"].nunique().gt(1).sum(), "jobs placed at two sites")
    slurm_ids = {j: job.slurm_id for j, job in adapter.jobs().items()}
    assert len(slurm_ids) == len(set(intents["job_id"]))  # one Slurm job per codispatch job, never resubmitted
    again = run_tick(settings, store, adapter, hours[-1])
    assert again.status == "already_done" and again.intents_sent == 0
