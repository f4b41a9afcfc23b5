"""control/mpc/classes.py: job classes are a conservative relaxation, and the first step is handed
back to member jobs within their gangs (hand-made instances; the numbers make the answer obvious)."""

from __future__ import annotations

import numpy as np
import pytest

from control.mpc import build_lp, solve_lp
from control.mpc.classes import (
    aggregate,
    bucketed_windows,
    class_keys,
    disaggregate_first_step,
    required_in_horizon,
)
from control.mpc.extract import site_slack_hours
from control.mpc.inputs import MpcInputs
from control.settings.core import MpcSettings

N_SITE, N_STEP = 2, 24


def _inputs(n_job: int = 6, **overrides) -> MpcInputs:
    rng = np.random.default_rng(3)
    base = dict(
        job_ids=np.array([f"j{k}" for k in range(n_job)]),
        remaining_gpu_h=np.full(n_job, 40.0),
        gpus=np.full(n_job, 8.0),
        release_step=np.zeros(n_job, dtype=int),
        deadline_step=np.full(n_job, 20),
        priority=np.zeros(n_job),
        allowed=np.ones((n_job, N_SITE), dtype=bool),
        gpu_count=np.full((N_SITE, N_STEP), 32.0),
        throughput=np.array([1.0, 0.5]),
        gpu_facility_mw=np.array([0.01, 0.01]),
        green_mw=rng.uniform(0.0, 0.3, size=(N_SITE, N_STEP)),
        ci_g_per_kwh=np.array([[500.0] * N_STEP, [600.0] * N_STEP]),
        import_limit_mw=np.full((N_SITE, N_STEP), 1.0),
    )
    base.update(overrides)
    return MpcInputs(**base)


def test_identical_jobs_share_a_class_and_any_difference_splits_it() -> None:
    inp = _inputs(4, priority=np.array([0.0, 0.0, 1.0, 0.0]),
                  allowed=np.array([[True, True], [True, True], [True, True], [True, False]]))
    keys = class_keys(inp)
    assert keys[0] == keys[1]  # the same window, sites, priority and work
    assert len({keys[0], keys[2], keys[3]}) == 3  # priority and allowed sites split classes


def test_class_windows_never_widen_a_members_window() -> None:
    release = np.array([0, 3, 13, 14, 17, 2])
    deadline = np.array([5, 9, 21, 23, 30, 60])  # some beyond the 24-hour horizon
    inp = _inputs(6, release_step=release, deadline_step=deadline)
    release_b, deadline_b = bucketed_windows(inp)
    assert (release_b >= release).all()
    inside = deadline <= N_STEP
    assert (deadline_b[inside] <= deadline[inside]).all()
    assert (deadline_b > release_b).all()  # never empty
    np.testing.assert_array_equal(release_b[2:4], [16, 16])  # beyond 12 h, releases round up to 4-hour blocks


def test_aggregate_keeps_totals_and_takes_the_tightest_window() -> None:
    inp = _inputs(6, remaining_gpu_h=np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0]),
                  deadline_step=np.array([18, 19, 18, 19, 18, 19]))
    keys = np.array([0, 0, 1, 1, 2, 2])
    classes = aggregate(inp, keys)
    assert classes.n_job == 3
    np.testing.assert_allclose(classes.remaining_gpu_h, [30.0, 70.0, 110.0])
    np.testing.assert_allclose(classes.gpus, [16.0, 16.0, 16.0])
    np.testing.assert_array_equal(classes.deadline_step, [16, 16, 16])  # earliest member deadline, rounded down to 4 h
    assert classes.required_gpu_h.sum() == pytest.approx(required_in_horizon(inp).sum())


def test_required_work_in_horizon_by_hand() -> None:
    inp = _inputs(2, remaining_gpu_h=np.array([100.0, 10.0]), deadline_step=np.array([30, 30]))
    # 6 hours after the horizon at the best rate 8 GPUs x 1.0 can do 48 GPU-h outside it
    np.testing.assert_allclose(required_in_horizon(inp), [100.0 - 48.0, 0.0])


def test_class_lp_is_a_relaxation_of_the_per_job_lp() -> None:
    inp = _inputs(6, remaining_gpu_h=np.array([40.0, 40.0, 60.0, 60.0, 80.0, 80.0]),
                  deadline_step=np.array([12, 12, 20, 20, 24, 24]))
    settings = MpcSettings()
    per_job = solve_lp(build_lp(inp, settings))
    keys = class_keys(inp)
    assert keys.max() + 1 < inp.n_job  # some jobs were pooled
    pooled = solve_lp(build_lp(aggregate(inp, keys), settings))
    assert per_job.status == pooled.status == "optimal"
    assert pooled.objective <= per_job.objective + 1e-6 * max(1.0, abs(per_job.objective))


def test_first_step_goes_back_to_members_least_slack_first_within_gangs() -> None:
    inp = _inputs(4, remaining_gpu_h=np.array([40.0, 150.0, 40.0, 150.0]), gpus=np.array([8.0, 8.0, 8.0, 8.0]))
    keys = np.array([0, 0, 1, 1])
    class_first = np.array([[8.0, 0.0], [6.0, 8.0]])  # class 0: one gang at site 0; class 1: both sites
    out = disaggregate_first_step(inp, keys, class_first, site_slack_hours(inp))
    assert (out <= inp.gpus[:, None] + 1e-9).all()
    assert ((out > 0).sum(axis=1) <= 1).all()  # one site per job
    for c in range(2):
        np.testing.assert_array_less(out[keys == c].sum(axis=0), class_first[c] + 1e-9)
    # job 1 (150 GPU-h by hour 20 at 8 GPUs: little slack) goes before job 0
    assert out[1, 0] == 8.0 and out[0].sum() == 0.0
    assert out[3].sum() == 8.0  # the larger share (site 1: 8 GPUs) to the least-slack member
