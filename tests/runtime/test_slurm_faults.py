"""Workload-manager faults against a real Slurm (issue 13 items 1 and 5, fault campaign): a refusal
for good, an elastic resize Slurm must apply, another user's job of the same name, the queue
listed a constant number of times per tick, and a controller that hangs or is down."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import pytest

from control.accounting.from_store import job_alerts
from control.cli import main
from control.runtime.adapters import Intent, IntentRefused
from control.runtime.slurm import SlurmAdapter
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings

from .conftest import START, write_runtime_config
from .slurm_cluster import running_cluster

SITES = ["east", "west"]
LONG_ID = "job-" + "x" * 1100  # sbatch refuses job names over ~1,024 characters


@pytest.fixture(scope="module")
def cluster(default_config):
    sites = load_settings(default_config).sites
    names = sorted({*SITES, *(s.name for s in sites)})
    with running_cluster(names, cpus_per_node=max(64, *(s.gpu_count for s in sites))) as started:
        yield started


def _squeues(adapter: SlurmAdapter) -> int:
    return sum(call.startswith("squeue") for call in adapter.calls)


@pytest.mark.slurm
def test_resize_refusal_and_ownership_at_the_adapter(cluster) -> None:
    adapter = SlurmAdapter({s: s for s in SITES}, {s: 64 for s in SITES})
    with pytest.raises(IntentRefused, match="too long"):
        adapter.apply(Intent("t1|long|run", LONG_ID, "run", "east", 4))
    with pytest.raises(IntentRefused, match="(?i)invalid partition"):
        SlurmAdapter({"east": "nowhere"}, {"east": 8}).apply(Intent("t1|p|run", "p", "run", "east", 4))
    small = Intent("t1|elastic|run", "elastic", "run", "east", 4)
    adapter.apply(small)
    assert adapter.confirm([small]) == [small] and adapter.jobs()["elastic"].cpus == 4
    grown = Intent("t2|elastic|run", "elastic", "run", "east", 16)  # same partition, 4x the gang
    assert not adapter.applied(grown)  # was: partition and not-held only, so Slurm kept 4 GPUs
    adapter.apply(grown)
    assert adapter.confirm([grown]) == [grown]
    assert adapter.jobs()["elastic"].cpus == 16 and not adapter.applied(small)
    stranger = SlurmAdapter({s: s for s in SITES}, {s: 64 for s in SITES}, user="nobody")
    assert "elastic" not in stranger.jobs()  # root's codispatch:elastic is not adopted by another user's daemon


@pytest.mark.slurm
def test_a_refused_intent_fails_its_job_and_every_other_job_goes_on(cluster, default_config, tmp_path) -> None:
    config = write_runtime_config(default_config, tmp_path, adapter="slurm")
    jobs = pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(6)
    jobs.loc[0, "job_id"] = LONG_ID  # urgent: must run in the first hour to make its deadline
    jobs.loc[0, ["release", "deadline", "work_gpu_h"]] = [START, (pd.Timestamp(START) + pd.Timedelta(hours=3)).isoformat(),
                                                        2.0 * float(jobs.loc[0, "gpus"])]
    jobs.to_csv(tmp_path / "jobs.csv", index=False)
    assert main(["submit", "--config", str(config), "--at", START, "--file", str(tmp_path / "jobs.csv")]) == 0
    settings = load_settings(config)
    store = open_store(settings)
    adapter = make_adapter(settings)
    assert isinstance(adapter, SlurmAdapter)
    hours = pd.date_range(START, periods=3, freq="h")
    first = run_tick(settings, store, adapter, hours[0])
    plan = store.last_plan(hours[0] + pd.Timedelta(hours=1), within_h=1.0)
    assert LONG_ID in plan, "the long-id job is planned in the first hour"
    assert first.status == "planned_and_sent" and "intent_refused" in first.flags
    assert "intent_refused" in store.ticks()["flags"].iloc[0]
    intents = store.intents().set_index("job_id")
    assert intents.at[LONG_ID, "status"] == "failed" and "too long" in intents.at[LONG_ID, "error"]
    others = intents.drop(index=LONG_ID)
    assert (others["status"] == "applied").all() and len(others) == len(plan) - 1
    job = store.jobs_frame().set_index("job_id").loc[LONG_ID]
    assert job["state"] == "failed" and "too long" in job["note"] and job["remaining_gpu_h"] == job["work_gpu_h"]
    assert any(" is failed: run intent " in a and "too long" in a for a in job_alerts(store.jobs_frame()))
    calls = _squeues(adapter)
    assert calls <= 3, adapter.calls  # listed once, plus one confirmation (was 2-3 per intent)
    for hour in hours[1:]:  # later ticks plan and send as before; the failed job is not planned again
        result = run_tick(settings, store, adapter, hour)
        assert result.status == "planned_and_sent" and LONG_ID not in store.last_plan(hour + pd.Timedelta(hours=1), 1.0)
    intents = store.intents()
    assert (intents.loc[intents["job_id"] != LONG_ID, "status"] == "applied").all()
    assert _squeues(adapter) - calls <= 2 * 3
    ledger_jobs = set(store.ledger()["job_id"]) if len(store.ledger()) else set()
    assert LONG_ID not in ledger_jobs  # it never ran, so no energy is booked for it


@pytest.mark.slurm
@pytest.mark.slow
def test_hanging_then_down_controller_loses_and_duplicates_nothing(cluster, default_config, tmp_path) -> None:
    config = write_runtime_config(default_config, tmp_path, adapter="slurm", slurm_timeout_s=3.0)
    jobs = pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(6)
    jobs["job_id"] = "hang-" + jobs["job_id"].astype(str)
    jobs.to_csv(tmp_path / "jobs.csv", index=False)
    assert main(["submit", "--config", str(config), "--at", START, "--file", str(tmp_path / "jobs.csv")]) == 0
    settings = load_settings(config)
    store = open_store(settings)
    adapter = make_adapter(settings)
    hours = pd.date_range(START, periods=3, freq="h")
    controller = cluster.processes["slurmctld"].pid
    os.kill(controller, signal.SIGSTOP)  # hanging: every Slurm command waits
    try:
        started = time.monotonic()
        hung = run_tick(settings, store, adapter, hours[0])
        assert time.monotonic() - started < 60
    finally:
        os.kill(controller, signal.SIGCONT)
    assert hung.status == "pending" and "workload_manager_unavailable" in hung.flags
    pending = store.intents()
    assert len(pending) > 0 and (pending["status"] == "pending").all()
    cluster.stop_controller()  # down
    try:
        down = run_tick(settings, store, adapter, hours[1])
        assert down.status == "pending" and "workload_manager_unavailable" in down.flags
    finally:
        cluster.start_controller()
        cluster.wait_ready()
    back = run_tick(settings, store, adapter, hours[2])
    assert back.status == "planned_and_sent", back
    intents = store.intents()
    assert (intents["status"] == "applied").all() and intents["key"].is_unique
    slurm = adapter.jobs()
    assert {j for j in intents["job_id"]} <= set(slurm)  # one Slurm job per job: none submitted twice
    assert len([j for j in slurm if j.startswith("hang-")]) == intents["job_id"].nunique()
