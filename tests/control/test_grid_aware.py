"""Grid-aware dispatch on the congested example (real weather, jobs and provincial demand shapes).

The grid-blind MPC overloads a substation at the evening peak; the MPC with grid constraints does
not, and when its linear model lets an AC overload through it tightens and re-solves.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from control.jobs import read_jobs
from control.policies import make_policy
from control.policies.base import StepDecision
from control.scenario import load_scenario
from control.settings import load_settings
from control.simulate import run_policy

CONGESTED = Path(__file__).resolve().parents[2] / "config" / "examples" / "congested.toml"


@pytest.fixture(scope="module")
def congested(shared_data):
    settings = load_settings(CONGESTED)
    return {name: run_policy(load_scenario(settings, 2), make_policy(name, settings)).summary
            for name in ("grid_blind", "mpc")}


def test_grid_blind_violates_and_mpc_does_not(congested) -> None:
    blind, mpc = congested["grid_blind"], congested["mpc"]
    assert blind["grid_violation_mwh"] > 0 and blind["max_line_loading_pct"] > 100
    assert mpc["grid_violation_mwh"] == 0
    assert mpc["max_line_loading_pct"] <= 100
    assert 0.95 <= mpc["min_voltage_pu"] and mpc["max_voltage_pu"] <= 1.05
    assert mpc["deadline_misses"] == 0


class FillTheTightestSite:
    """Test policy: puts released jobs on the site with the least import headroom, up to its
    linear import limit plus its green supply - the plan a linear model allows, nothing more."""

    name = "fill_tightest"
    grid_aware = True

    def decide(self, state, forecast, limits):
        now = forecast.index[0]
        headroom = limits.import_limit_mw.loc[now] + forecast.green_mw.loc[now]
        site = str(limits.import_limit_mw.loc[now].idxmin())
        k = state.fleet.names.index(site)
        power_left, gpus_left = float(headroom[site]), float(state.gpus_now[k])
        allocation = {}
        for job in state.jobs.itertuples():
            power = job.gpus * state.fleet.gpu_facility_mw[k]
            allowed = not job.allowed_sites or site in job.allowed_sites.split(";")
            if allowed and job.gpus <= gpus_left and power <= power_left:
                allocation[job.job_id] = (site, int(job.gpus))
                power_left -= power
                gpus_left -= job.gpus
        return StepDecision(allocation=allocation)


def test_tighten_and_resolve_when_the_linear_model_is_optimistic(shared_data) -> None:
    """A linear model 30 % above the ratings lets a plan overload the transformer; the AC check
    catches it, the limits are tightened and the step re-planned until the AC check passes."""
    settings = load_settings(CONGESTED, {"grid": {"tighten_factor": 0.85, "max_resolves": 5}})
    scenario = load_scenario(settings, 1)
    scenario.grid.connections.linear_margin = 1.3
    jobs = read_jobs(settings.jobs.file, settings.site_names).head(60).assign(release=scenario.index[0], allowed_sites="",
                                         deadline=scenario.index[-1] + pd.Timedelta(hours=1))
    summary = run_policy(dataclasses.replace(scenario, jobs=jobs), FillTheTightestSite()).summary
    assert summary["ac_resolves"] > 0
    assert summary["grid_violation_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert summary["max_line_loading_pct"] <= 100.0 + 1e-6


def test_one_runs_tightened_limits_do_not_change_the_next_run(shared_data) -> None:
    """The limits a run tightens live in the run, not in the shared scenario: the same policy run
    twice on one scenario (as `simulate` runs every policy on one scenario) decides the same."""
    settings = load_settings(CONGESTED, {"grid": {"tighten_factor": 0.85, "max_resolves": 5}})
    scenario = load_scenario(settings, 1)
    scenario.grid.connections.linear_margin = 1.3
    jobs = read_jobs(settings.jobs.file, settings.site_names).head(60).assign(release=scenario.index[0], allowed_sites="",
                                         deadline=scenario.index[-1] + pd.Timedelta(hours=1))
    scenario = dataclasses.replace(scenario, jobs=jobs)
    before = scenario.grid.limits(scenario.index[:3])
    first = run_policy(scenario, FillTheTightestSite())
    second = run_policy(scenario, FillTheTightestSite())
    assert first.summary["ac_resolves"] > 0  # the first run did tighten
    assert second.summary["ac_resolves"] == first.summary["ac_resolves"]
    pd.testing.assert_frame_equal(second.dispatch, first.dispatch)
    pd.testing.assert_frame_equal(scenario.grid.limits(scenario.index[:3]).import_limit_mw, before.import_limit_mw)
