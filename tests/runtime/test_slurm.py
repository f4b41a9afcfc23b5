"""The Slurm adapter against a real Slurm (slurmctld, one slurmd per site, munge) on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from control.runtime.adapters import AdapterUnavailable, Intent
from control.runtime.slurm import SlurmAdapter

from .slurm_cluster import running_cluster

SITES = ["east", "west"]


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(SITES) as started:
        yield started


def _wait(adapter: SlurmAdapter, job: str, predicate, timeout_s: float = 60.0):
    """Poll until the job satisfies ``predicate`` (a requeued job waits out Slurm's ~10 s begin delay)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        observed = adapter.observe().get(job)
        if observed is not None and predicate(observed):
            return observed
        time.sleep(0.3)
    raise AssertionError(f"{job}: {adapter.observe().get(job)}")


@pytest.mark.slurm
def test_held_job_moves_between_partitions_and_is_released(cluster) -> None:
    adapter = SlurmAdapter({s: s for s in SITES}, {s: 64 for s in SITES})
    adapter.submit_held("job-a", "east", 8)
    assert adapter.observe()["job-a"].state == "held"
    run_west = Intent("t1|job-a|run", "job-a", "run", "west", 8)
    assert not adapter.applied(run_west)
    adapter.apply(run_west)
    running = _wait(adapter, "job-a", lambda o: o.state == "running")
    assert running.site == "west" and adapter.applied(run_west)
    slurm_id = adapter.jobs()["job-a"].slurm_id
    adapter.apply(run_west)  # applying again changes nothing
    assert adapter.jobs()["job-a"].slurm_id == slurm_id and adapter.observe()["job-a"].site == "west"
    # migrate: requeued held, moved to east, released there
    run_east = Intent("t2|job-a|run", "job-a", "run", "east", 8)
    adapter.apply(run_east)
    moved = _wait(adapter, "job-a", lambda o: o.state == "running" and o.site == "east")
    assert moved.site == "east"
    # defer: a hold intent puts it back in the queue, held
    hold = Intent("t3|job-a|hold", "job-a", "hold")
    adapter.apply(hold)
    assert _wait(adapter, "job-a", lambda o: o.state == "held") and adapter.applied(hold)


@pytest.mark.slurm
def test_controller_restart_is_reported_then_reconciled(cluster) -> None:
    adapter = SlurmAdapter({s: s for s in SITES}, {s: 64 for s in SITES})
    adapter.submit_held("job-b", "west", 4)
    cluster.stop_controller()
    try:
        with pytest.raises(AdapterUnavailable):
            adapter.apply(Intent("t1|job-b|run", "job-b", "run", "west", 4))
    finally:
        cluster.start_controller()
        cluster.wait_ready()
    assert adapter.observe()["job-b"].state == "held"  # the job survived the restart
    adapter.apply(Intent("t1|job-b|run", "job-b", "run", "west", 4))
    assert _wait(adapter, "job-b", lambda o: o.state == "running").site == "west"
