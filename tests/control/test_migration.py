"""Migration: checkpoint transfer time and idle energy, charged in the simulation and weighed by the MPC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.fleet import Fleet
from control.mpc import build_lp, extract_plan, solve_lp
from control.mpc.inputs import MpcInputs, migration_cost_t_per_gpu_h
from control.policies.base import StepDecision
from control.settings.core import MpcSettings
from control.simulate import execute_hour


def _fleet(gbps: float = 10.0) -> Fleet:
    return Fleet(
        names=["a", "b"], regions=["r", "r"], gpu_count=np.array([100.0, 100.0]),
        throughput=np.array([1.0, 2.0]), gpu_it_mw=np.array([0.001, 0.001]), pue=np.array([1.2, 1.5]),
        gpu_idle_it_mw=np.array([0.0003, 0.0004]), wan_gbps=np.full((2, 2), gbps),
    )


def test_transfer_time_is_checkpoint_over_bandwidth() -> None:
    fleet = _fleet(gbps=10.0)
    hours = fleet.transfer_h(np.array([900.0, 900.0, 900.0]), np.array([0, 1, -1]))
    # 900 GB x 8 bit / 10 Gbit/s = 720 s = 0.2 h; nothing to move to the own site or for a new job
    np.testing.assert_allclose(hours, [[0.0, 0.2], [0.2, 0.0], [0.0, 0.0]])


def _jobs(site: str, checkpoint_gb: float, transfer_left_h: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"job_id": ["j"], "site": [site], "checkpoint_gb": [checkpoint_gb],
                         "remaining_gpu_h": [1000.0], "transfer_left_h": [transfer_left_h]}).set_index("job_id", drop=False)


def test_a_migrating_gang_waits_idle_for_its_checkpoint() -> None:
    fleet = _fleet(gbps=1.0)  # 900 GB at 1 Gbit/s = 2 h
    decision = StepDecision(allocation={"j": ("b", 10)})
    hour = execute_hour(decision, _jobs("a", 900.0), fleet, {"a": 0, "b": 1})
    done, it_mwh, left_h, migrated = hour.jobs["j"]
    assert migrated and done == 0.0 and left_h == pytest.approx(1.0)
    assert it_mwh == pytest.approx(10 * 1.0 * 0.0004)  # a full hour idle at site b
    # a later hour at b with a quarter hour of transfer left: idle for it, then work
    hour2 = execute_hour(decision, _jobs("b", 900.0, transfer_left_h=0.25), fleet, {"a": 0, "b": 1})
    done2, it2, left2, migrated2 = hour2.jobs["j"]
    assert not migrated2 and left2 == 0.0
    assert done2 == pytest.approx(10 * 2.0 * 0.75)  # 10 GPUs x throughput 2 x 0.75 h
    assert it2 == pytest.approx(10 * 0.75 * 0.001 + 10 * 0.25 * 0.0004)
    assert hour2.site_it_mw[1] == pytest.approx(it2)


def test_staying_costs_nothing() -> None:
    hour = execute_hour(StepDecision(allocation={"j": ("a", 10)}), _jobs("a", 900.0), _fleet(), {"a": 0, "b": 1})
    done, it_mwh, left_h, migrated = hour.jobs["j"]
    assert not migrated and done == pytest.approx(10.0) and it_mwh == pytest.approx(0.01)


def _running_job_inputs(checkpoint_gb: float) -> MpcInputs:
    fleet = Fleet(names=["a", "b"], regions=["r", "s"], gpu_count=np.array([10.0, 10.0]),
                  throughput=np.array([1.0, 1.0]), gpu_it_mw=np.array([0.01, 0.01]), pue=np.array([1.0, 1.0]),
                  gpu_idle_it_mw=np.array([0.01, 0.01]), wan_gbps=np.full((2, 2), 1.0))
    n_step = 4
    ci = np.array([[500.0] * n_step, [490.0] * n_step])  # b is 2 % cleaner
    remaining = np.array([40.0])
    return MpcInputs(
        job_ids=np.array(["j"]), remaining_gpu_h=remaining, gpus=np.array([10.0]),
        release_step=np.array([0]), deadline_step=np.array([4]), priority=np.array([0.0]),
        allowed=np.ones((1, 2), dtype=bool), gpu_count=np.full((2, n_step), 10.0),
        throughput=fleet.throughput, gpu_facility_mw=fleet.gpu_facility_mw, green_mw=np.zeros((2, n_step)),
        ci_g_per_kwh=ci, import_limit_mw=np.full((2, n_step), 1.0), current_site=np.array([0]),
        migration_t_per_gpu_h=migration_cost_t_per_gpu_h(fleet, np.array([checkpoint_gb]), np.array([0]),
                                                         np.array([10.0]), remaining, ci),
    )


@pytest.mark.parametrize(("checkpoint_gb", "moves"), [(0.0, True), (900.0, False)])
def test_the_mpc_moves_a_running_job_only_when_it_pays(checkpoint_gb: float, moves: bool) -> None:
    # Moving saves 2 % of 0.4 MWh x 0.5 t/MWh = 0.004 t; a 900 GB checkpoint at 1 Gbit/s idles the
    # gang 2 h at 0.1 MW: 0.2 MWh x 0.49 t/MWh = 0.098 t. Free checkpoints move, heavy ones stay.
    inp = _running_job_inputs(checkpoint_gb)
    lp = build_lp(inp, MpcSettings())
    plan = extract_plan(inp, lp, solve_lp(lp).x)
    at_b = plan.gpus[0, 1].sum()
    assert (at_b > 39.0) if moves else (at_b < 1e-6)
