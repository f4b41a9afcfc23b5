"""The booking rules, and that the simulation and the daemon's store count progress by them alike
(checkpoint-transfer idle time included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from control.accounting.booking import (
    arrival_wait_h,
    green_first,
    green_share,
    hour_it_energy_mwh,
    hour_progress,
    location_emissions_t,
)
from control.decision import StepDecision
from control.fleet import Fleet
from control.jobs import validate_jobs
from control.simulate import execute_hour
from control.store import Store
from control.store.tables import PlanRecord, TickRecord

T0 = datetime(2023, 7, 3, 0, tzinfo=timezone.utc)


def test_progress_idles_while_the_checkpoint_arrives_and_carries_the_rest() -> None:
    done, idle, left = hour_progress(100.0, 8, 0.5, waiting_h=1.5)
    assert (done, idle, left) == (0.0, 1.0, 0.5)  # the whole hour waiting, half an hour to go
    done, idle, left = hour_progress(100.0, 8, 0.5, arrival_wait_h(False, 9.9, left))
    assert (done, idle, left) == (2.0, 0.5, 0.0)  # 8 GPUs x 0.5 x half an hour
    done, _, _ = hour_progress(1.0, 8, 0.5, 0.0)
    assert done == 1.0  # capped at what is left
    np.testing.assert_allclose(hour_progress(np.array([10.0, 10.0]), np.array([8, 4]), 1.0, np.array([0.0, 0.25]))[0],
                               [8.0, 3.0])
    assert arrival_wait_h(True, 2.0, 0.3) == 2.0 and arrival_wait_h(False, 2.0, 0.3) == 0.3


def test_energy_split_and_emissions() -> None:
    # 2 GPU-h of work at throughput 0.5 = 4 busy GPU-hours of 0.7 kW, plus 8 GPUs idle half an hour at 0.1 kW
    assert hour_it_energy_mwh(2.0, 8, 0.5, 0.5, 0.0007, 0.0001) == pytest.approx(4 * 0.0007 + 8 * 0.5 * 0.0001)
    used, grid = green_first(np.array([5.0, 5.0]), np.array([2.0, 9.0]))
    np.testing.assert_allclose(used, [2.0, 5.0])
    np.testing.assert_allclose(grid, [3.0, 0.0])
    np.testing.assert_allclose(green_share(np.array([4.0, 4.0, 0.0, 4.0]), np.array([1.0, 8.0, 3.0, np.nan])),
                               [0.25, 1.0, 0.0, 0.0])
    assert location_emissions_t(2.0, 500.0) == pytest.approx(1.0)  # 2 MWh at 500 g/kWh = 1 t


def _fleet() -> Fleet:
    return Fleet(["east", "west"], ["east", "west"], np.array([64.0, 64.0]), np.array([0.5, 1.0]),
                 np.array([0.0007, 0.0007]), np.array([1.2, 1.2]), wan_gbps=np.array([[np.inf, 0.01], [0.01, np.inf]]),
                 gpu_idle_it_mw=np.array([0.0001, 0.0001]))


def test_daemon_store_counts_progress_like_the_simulation(tmp_path) -> None:
    """A job runs an hour at west, then moves to east (a 32 GB checkpoint over 10 Mbit/s: 7.1 h
    of waiting) and runs there two more hours: the store's progress is the simulation's."""
    fleet = _fleet()
    move_h = fleet.move_h("west", "east", 32.0)
    assert move_h == pytest.approx(32.0 * 8 / 0.01 / 3600)
    hours = [("west", 8), ("east", 8), ("east", 8)]
    # the simulation
    jobs = validate_jobs(pd.DataFrame({"job_id": ["a"], "release": ["2023-07-03T00:00:00Z"],
                                       "deadline": ["2023-07-09T00:00:00Z"], "gpus": [8], "work_gpu_h": [200.0],
                                       "home_site": ["west"], "checkpoint_gb": [32.0]}), fleet.names)
    sim = jobs.assign(remaining_gpu_h=200.0, site="", transfer_left_h=0.0).set_index("job_id", drop=False)
    site_pos = {name: k for k, name in enumerate(fleet.names)}
    for site, gpus in hours:
        done, _, left, _ = execute_hour(StepDecision({"a": (site, gpus)}), sim, fleet, site_pos).jobs["a"]
        sim.loc["a", ["remaining_gpu_h", "transfer_left_h", "site"]] = [sim.at["a", "remaining_gpu_h"] - done, left, site]
    # the store
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}", create=True)
    try:
        store.add_jobs(jobs, T0)
        throughput = dict(zip(fleet.names, fleet.throughput, strict=True))
        for k, (site, gpus) in enumerate(hours):
            t = T0 + timedelta(hours=k)
            store.write_plan(TickRecord(tick_time=t, status="planned", started_at=t),
                             [PlanRecord(tick_time=t, job_id="a", site=site, gpus=gpus)], [], [])
            assert store.finish_tick(t, throughput, t, move_h=fleet.move_h)
        stored = store.jobs_frame().set_index("job_id").loc["a"]
    finally:
        store.close()
    assert sim.at["a", "remaining_gpu_h"] == pytest.approx(200.0 - 8.0)  # west's hour only: east still waits
    assert stored.remaining_gpu_h == pytest.approx(sim.at["a", "remaining_gpu_h"], abs=1e-12)
    assert stored.transfer_left_h == pytest.approx(sim.at["a", "transfer_left_h"], abs=1e-12)
    assert stored.transfer_left_h == pytest.approx(move_h - 2.0)
