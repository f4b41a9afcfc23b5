"""Warm start between MPC steps: the same optimum from fewer simplex iterations.

Closed loop on the embedded default scenario (real weather and job traces), one day (its first
solves): every
hourly LP is solved cold and warm (from the previous step's basis carried by keys).
"""

from __future__ import annotations

import numpy as np
import pytest

import control.mpc.step as mpc_module
from control.mpc.warm import JobNumbers, class_tags, lp_keys
from control.policies import make_policy
from control.scenario import load_scenario
from control.settings import load_settings
from control.simulate import run_policy


def _run(config, warm: bool):
    settings = load_settings(config, {"mpc": {"warm_start": warm}})
    scenario = load_scenario(settings, days=1)
    solves = []
    original = mpc_module.solve_lp

    def recording(lp, *args, **kwargs):
        result = original(lp, *args, **kwargs)
        solves.append((result.objective, result.iterations, kwargs.get("basis") is not None, lp))
        return result

    mpc_module.solve_lp = recording
    try:
        run = run_policy(scenario, make_policy("mpc", settings, scenario), ac_check=False)
    finally:
        mpc_module.solve_lp = original
    return run, solves


@pytest.fixture(scope="module")
def cold_and_warm(default_config):
    return _run(default_config, warm=False), _run(default_config, warm=True)


def test_warm_start_reaches_the_same_optimum_with_fewer_iterations(cold_and_warm) -> None:
    (cold_run, cold), (warm_run, warm) = cold_and_warm
    assert len(cold) == len(warm) >= 10
    assert not any(used for _, _, used, _ in cold)
    assert all(used for _, _, used, _ in warm[1:])  # every step after the first starts from a basis
    cold_obj = np.array([o for o, *_ in cold])
    warm_obj = np.array([o for o, *_ in warm])
    np.testing.assert_allclose(warm_obj, cold_obj, rtol=1e-5, atol=1e-6)
    cold_iters = sum(i for _, i, _, _ in cold[1:])
    warm_iters = sum(i for _, i, _, _ in warm[1:])
    assert warm_iters < 0.7 * cold_iters, (warm_iters, cold_iters)
    assert warm_run.summary["emissions_tco2"] == pytest.approx(cold_run.summary["emissions_tco2"], rel=1e-6)
    assert warm_run.summary["deadline_misses"] == cold_run.summary["deadline_misses"]


def test_keys_are_unique_per_lp(cold_and_warm, default_config) -> None:
    _, (_, warm) = cold_and_warm
    lp = warm[len(warm) // 2][3]
    n_step = load_settings(default_config).mpc.horizon_h
    tags = np.arange(1, lp.index.n_col - lp.index.u0 + 1)  # one per class
    keys = lp_keys(lp, tags, first_hour=470_000, n_site=(lp.index.m0 - lp.index.g0) // n_step, n_step=n_step)
    assert len(np.unique(keys.cols)) == len(keys.cols) == lp.a.shape[1]
    assert len(np.unique(keys.rows)) == len(keys.rows) == lp.a.shape[0]


def test_class_tags_follow_members_not_positions() -> None:
    numbers = JobNumbers()
    first = numbers.of(np.array(["a", "b", "c"]))
    later = numbers.of(np.array(["d", "c", "b", "a"]))  # new job, order changed
    np.testing.assert_array_equal(first, [1, 2, 3])
    np.testing.assert_array_equal(later, [4, 3, 2, 1])
    # classes {a, b} and {c}: the same tags whatever their positions
    np.testing.assert_array_equal(class_tags(first, np.array([0, 0, 1]), 2), [1, 3])
    np.testing.assert_array_equal(class_tags(later, np.array([1, 0, 1, 1]), 2), [3, 1])
