"""The "why" of a decision, checked against a re-solve: on constructed cases, removing the factor
the explanation names changes the decision."""

from __future__ import annotations

import numpy as np

from control.mpc.build import build_lp
from control.mpc.classes import aggregate, class_keys
from control.mpc.extract import extract_plan
from control.mpc.horizon import member_gpus
from control.mpc.inputs import MpcInputs
from control.mpc.solve import solve_lp
from control.mpc.step import commit_first_step
from control.mpc.why import explain
from control.settings.core import MpcSettings

SETTINGS = MpcSettings()
SITES = ["a", "b"]
N_STEP = 8


def _inputs(**overrides) -> MpcInputs:
    base = dict(
        job_ids=np.array(["j"]), remaining_gpu_h=np.array([20.0]), gpus=np.array([10.0]),
        release_step=np.array([0]), deadline_step=np.array([2]), priority=np.array([0.0]),
        allowed=np.ones((1, 2), dtype=bool), gpu_count=np.full((2, N_STEP), 10.0), throughput=np.array([1.0, 1.0]),
        gpu_facility_mw=np.array([0.01, 0.01]), green_mw=np.zeros((2, N_STEP)),
        ci_g_per_kwh=np.full((2, N_STEP), 500.0), import_limit_mw=np.full((2, N_STEP), 1.0),
    )
    base.update(overrides)
    return MpcInputs(**base)


def _decide(inp: MpcInputs) -> tuple[str, dict]:
    """Solve as the controller does; returns ('run@site' | 'wait', explanation)."""
    class_of_job = class_keys(inp)
    classes = aggregate(inp, class_of_job)
    lp = build_lp(classes, SETTINGS)
    result = solve_lp(lp)
    assert result.x is not None
    plan = extract_plan(classes, lp, result.x)
    decisions = commit_first_step(inp, class_of_job, plan.gpus[:, :, 0], SETTINGS.run_fraction_threshold)
    gpus = member_gpus(inp, class_of_job, plan.gpus)
    gpus[:, :, 0] = 0.0
    for j, (s, g) in decisions.items():
        gpus[j, s, 0] = g
    why = explain(inp, SETTINGS, gpus, decisions, np.zeros(inp.n_job, bool), SITES)[0]
    outcome = f"run@{SITES[decisions[0][0]]}" if 0 in decisions else "wait"
    return outcome, why


def _ci(a: float, b: float) -> np.ndarray:
    return np.vstack([np.full(N_STEP, a), np.full(N_STEP, b)])


def test_green_forecast() -> None:
    green = np.zeros((2, N_STEP))
    green[1, :] = 0.2  # b covers the gang with green power
    outcome, why = _decide(_inputs(green_mw=green, ci_g_per_kwh=_ci(500, 520)))
    assert outcome == "run@b" and why["factors"]["factor"] == "green_forecast", why
    assert "green" in why["summary"]
    removed, _ = _decide(_inputs(ci_g_per_kwh=_ci(500, 520)))  # no green at b
    assert removed != outcome


def test_grid_headroom() -> None:
    limit = np.full((2, N_STEP), 1.0)
    limit[0, :] = 0.05  # a's grid is cleaner but cannot take the 0.1 MW gang
    outcome, why = _decide(_inputs(import_limit_mw=limit, ci_g_per_kwh=_ci(400, 600)))
    assert outcome == "run@b" and why["factors"]["factor"] == "grid_headroom", why
    removed, _ = _decide(_inputs(ci_g_per_kwh=_ci(400, 600)))
    assert removed == "run@a"


def test_carbon_intensity() -> None:
    outcome, why = _decide(_inputs(ci_g_per_kwh=_ci(400, 600), deadline_step=np.array([6])))
    assert outcome == "run@a" and why["factors"]["factor"] == "carbon_intensity", why
    removed, _ = _decide(_inputs(ci_g_per_kwh=_ci(600, 400), deadline_step=np.array([6])))  # the advantage reversed
    assert removed != outcome


def test_migration_cost() -> None:
    migration = np.array([[0.0, 0.002]])  # moving from a to b costs more per GPU-hour than b's cleaner grid saves
    kwargs = dict(ci_g_per_kwh=_ci(520, 500), current_site=np.array([0]))
    outcome, why = _decide(_inputs(migration_t_per_gpu_h=migration, **kwargs))
    assert outcome == "run@a" and why["factors"]["factor"] == "migration_cost", why
    removed, _ = _decide(_inputs(migration_t_per_gpu_h=np.zeros((1, 2)), **kwargs))
    assert removed == "run@b"


def test_deadline_slack_lets_a_job_wait_for_green() -> None:
    green = np.zeros((2, N_STEP))
    green[1, 4:6] = 0.2  # green at b in hours 4-5 only
    outcome, why = _decide(_inputs(green_mw=green, deadline_step=np.array([8])))
    assert outcome == "wait" and why["factors"]["factor"] == "deadline_slack", why
    assert "+4 at b" in why["summary"], why["summary"]
    removed, _ = _decide(_inputs(green_mw=green, deadline_step=np.array([2])))  # no slack left
    assert removed.startswith("run@")
