"""The LP keeps its constraints, and it moves work to green hours and green sites.

Small hand-made instances (two sites, a few hours): the numbers are chosen to make the right
answer obvious, not to look like real data.
"""

from __future__ import annotations

import numpy as np
import pytest

from control.mpc import build_lp, extract_plan, round_first_step, solve_lp
from control.mpc.build import step_blocks
from control.mpc.inputs import MpcInputs
from control.settings.core import MpcSettings

SETTINGS = MpcSettings()


def _inputs(**overrides) -> MpcInputs:
    n_site, n_step = 2, 6
    base = dict(
        job_ids=np.array(["j0", "j1"]),
        remaining_gpu_h=np.array([20.0, 30.0]),
        gpus=np.array([10.0, 10.0]),
        release_step=np.array([0, 1]),
        deadline_step=np.array([4, 6]),
        priority=np.array([0.0, 0.0]),
        allowed=np.ones((2, n_site), dtype=bool),
        gpu_count=np.full((n_site, n_step), 10.0),
        throughput=np.array([1.0, 0.5]),
        gpu_facility_mw=np.array([0.01, 0.01]),
        green_mw=np.zeros((n_site, n_step)),
        ci_g_per_kwh=np.array([[500.0] * n_step, [600.0] * n_step]),
        import_limit_mw=np.full((n_site, n_step), 1.0),
    )
    base.update(overrides)
    return MpcInputs(**base)


def _solve(inp: MpcInputs):
    lp = build_lp(inp, SETTINGS)
    result = solve_lp(lp)
    assert result.status == "optimal"
    return lp, extract_plan(inp, lp, result.x)


def test_work_windows_capacity_and_limits_hold() -> None:
    inp = _inputs()
    lp, plan = _solve(inp)
    done = (plan.gpus * inp.throughput[None, :, None]).sum(axis=(1, 2))
    np.testing.assert_allclose(done + plan.unmet_gpu_h, inp.remaining_gpu_h, atol=1e-6)
    assert plan.unmet_gpu_h.max() < 1e-6
    assert plan.gpus[0, :, 4:].sum() == 0  # nothing after j0's deadline
    assert plan.gpus[1, :, :1].sum() == 0  # nothing before j1's release
    assert (plan.gpus.sum(axis=0) <= inp.gpu_count + 1e-6).all()
    assert (plan.gpus.sum(axis=1) <= inp.gpus[:, None] + 1e-6).all()  # one gang per job
    load = (plan.gpus.sum(axis=0) * inp.gpu_facility_mw[:, None])
    np.testing.assert_allclose(load, plan.green_mw + plan.grid_mw, atol=1e-6)
    assert (plan.grid_mw <= inp.import_limit_mw + 1e-6).all()


def test_work_moves_to_green_hours() -> None:
    green = np.zeros((2, 6))
    green[1, 2:4] = 0.2  # site 1 has green power in hours 2-3, enough for both gangs
    gpu_count = np.vstack([np.full(6, 10.0), np.full(6, 20.0)])
    inp = _inputs(green_mw=green, remaining_gpu_h=np.array([10.0, 10.0]), deadline_step=np.array([6, 6]),
                  release_step=np.array([0, 0]), gpu_count=gpu_count)
    _, plan = _solve(inp)
    assert plan.grid_mw.sum() < 1e-6  # all work runs on green power
    assert plan.gpus[:, 1, 2:4].sum() == pytest.approx(40.0)


def test_deadline_pressure_overrides_green() -> None:
    green = np.zeros((2, 6))
    green[:, 5] = 1.0  # green only after the deadline
    inp = _inputs(green_mw=green, deadline_step=np.array([2, 6]), remaining_gpu_h=np.array([20.0, 0.5]))
    _, plan = _solve(inp)
    assert plan.unmet_gpu_h[0] < 1e-6
    assert plan.gpus[0, 0, :2].sum() == pytest.approx(20.0)  # the fast site, before the deadline


def test_impossible_deadline_is_a_reported_miss_not_an_infeasible_model() -> None:
    inp = _inputs(remaining_gpu_h=np.array([1000.0, 10.0]))
    _, plan = _solve(inp)
    assert plan.unmet_gpu_h[0] > 900


def test_line_limits_bind() -> None:
    ptdf = np.array([[1.0, 1.0]])  # one corridor feeds both sites
    inp = _inputs(ptdf=ptdf, base_flow_mw=np.zeros((1, 6)), branch_limit_mw=np.array([0.05]),
                  remaining_gpu_h=np.array([20.0, 10.0]))
    _, plan = _solve(inp)
    assert plan.grid_mw.sum(axis=0).max() <= 0.05 + 1e-6


def test_rounding_gives_whole_gangs_within_capacity() -> None:
    inp = _inputs(release_step=np.array([0, 0]))
    first = np.array([[6.0, 0.0], [4.0, 5.0]])
    decisions = round_first_step(inp, first, threshold=0.5)
    for j, (_site, gpus) in decisions.items():
        assert gpus == inp.gpus[j]
    used = np.zeros(2)
    for s, gpus in decisions.values():
        used[s] += gpus
    assert (used <= inp.gpu_count[:, 0]).all()
    assert len(decisions) == 1  # both want site 0 (site 1 is too slow for job 1 to finish on time)


def test_last_partial_hour_still_runs() -> None:
    """A job with a third of an hour of work left, due now, runs although the plan gives it 1/3 of its gang."""
    inp = _inputs(release_step=np.array([0, 0]), remaining_gpu_h=np.array([3.0, 30.0]),
                  deadline_step=np.array([1, 6]))
    first = np.array([[3.0, 0.0], [0.0, 0.0]])
    decisions = round_first_step(inp, first, threshold=0.5)
    assert len(decisions) == 1  # both want site 0 (site 1 is too slow for job 1 to finish on time)


def test_a_priority_job_is_never_displaced_by_a_lower_one() -> None:
    """Room for one gang: the low-priority job is due (must run), the high-priority one merely
    planned; the high-priority job gets the GPUs and the other one misses (and is penalised)."""
    inp = _inputs(release_step=np.array([0, 0]), remaining_gpu_h=np.array([10.0, 30.0]),
                  deadline_step=np.array([1, 6]), priority=np.array([0.0, 1.0]),
                  allowed=np.array([[True, False], [True, False]]))
    first = np.array([[10.0, 0.0], [10.0, 0.0]])
    decisions = round_first_step(inp, first, threshold=0.5)
    assert decisions == {1: (0, 10)}


def test_an_elastic_job_runs_on_the_gpus_left_a_fixed_gang_does_not() -> None:
    """Six GPUs free at site 0: the elastic job (4 to 10 GPUs) takes them, the fixed gang waits."""
    gpu_count = np.vstack([np.full(6, 6.0), np.zeros(6)])
    first = np.array([[10.0, 0.0], [0.0, 0.0]])
    elastic = _inputs(release_step=np.array([0, 0]), gpu_count=gpu_count, min_gpus=np.array([4.0, 10.0]))
    assert round_first_step(elastic, first, threshold=0.5) == {0: (0, 6)}
    fixed = _inputs(release_step=np.array([0, 0]), gpu_count=gpu_count)
    assert round_first_step(fixed, first, threshold=0.5) == {}


def test_green_that_would_be_curtailed_is_used_before_green_the_grid_could_take() -> None:
    """Both sites have the same green supply and grid intensity; site 0 can export only part of
    it (the rest would be curtailed), site 1 all of it. The one job runs where it absorbs the
    curtailment (docs/grid.md: exported green earns a small credit)."""
    green = np.full((2, 6), 0.2)
    export = np.vstack([np.full(6, 0.1), np.full(6, 0.2)])
    inp = _inputs(job_ids=np.array(["j0"]), remaining_gpu_h=np.array([10.0]), gpus=np.array([10.0]),
                  release_step=np.array([0]), deadline_step=np.array([6]), priority=np.array([0.0]),
                  allowed=np.ones((1, 2), dtype=bool), throughput=np.array([1.0, 1.0]),
                  ci_g_per_kwh=np.full((2, 6), 500.0), green_mw=green, export_limit_mw=export)
    _, plan = _solve(inp)
    assert plan.grid_mw.sum() < 1e-6
    assert plan.gpus[0, 0].sum() == pytest.approx(10.0) and plan.gpus[0, 1].sum() < 1e-6


def test_move_blocking_keeps_every_hours_limits_and_only_restricts_the_plan() -> None:
    """Hours 2-3 and 4-5 planned as blocks: the same GPUs in each hour of a block, every hour's
    capacity, power balance and import limit kept, windows kept (j0 is due at 4: its block 4-5
    is empty; a block straddling a window covers only its hours inside it), and the objective no
    better than the hourly plan's (a restriction, never a relaxation)."""
    green = np.zeros((2, 6))
    green[1, 2] = 0.2  # green in one hour of a block
    inp = _inputs(green_mw=green, release_step=np.array([0, 3]), deadline_step=np.array([4, 6]),
                  remaining_gpu_h=np.array([20.0, 20.0]))
    blocks = step_blocks(6, hourly_h=2, block_h=2)
    np.testing.assert_array_equal(blocks, [0, 1, 2, 4])
    hourly_lp = build_lp(inp, SETTINGS)
    hourly = solve_lp(hourly_lp)
    lp = build_lp(inp, SETTINGS, blocks)
    result = solve_lp(lp)
    assert result.status == "optimal" and lp.a.shape[1] < hourly_lp.a.shape[1]
    plan = extract_plan(inp, lp, result.x)
    np.testing.assert_allclose(plan.gpus[0, :, 2], plan.gpus[0, :, 3], atol=1e-9)
    np.testing.assert_allclose(plan.gpus[:, :, 4], plan.gpus[:, :, 5], atol=1e-9)
    assert plan.gpus[0, :, 4:].sum() == 0 and plan.gpus[1, :, :3].sum() == 0
    load = plan.gpus.sum(axis=0) * inp.gpu_facility_mw[:, None]
    np.testing.assert_allclose(load, plan.green_mw + plan.grid_mw, atol=1e-6)
    assert (plan.green_mw <= green + 1e-9).all() and (plan.grid_mw <= inp.import_limit_mw + 1e-6).all()
    assert (plan.gpus.sum(axis=0) <= inp.gpu_count + 1e-6).all()
    done = (plan.gpus * inp.throughput[None, :, None]).sum(axis=(1, 2))
    np.testing.assert_allclose(done + plan.unmet_gpu_h, inp.remaining_gpu_h, atol=1e-6)
    assert result.objective >= hourly.objective - 1e-9
    # blocks of one hour are the hourly LP
    assert solve_lp(build_lp(inp, SETTINGS, step_blocks(6, 2, 1))).objective == pytest.approx(hourly.objective)
