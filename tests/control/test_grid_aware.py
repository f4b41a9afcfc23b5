"""Grid-aware dispatch on the congested example (real weather, jobs and provincial demand shapes).

The grid-blind MPC overloads a substation at the evening peak; the MPC with grid constraints does
not, and when its linear model lets an AC overload through it tightens and re-solves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from control.policies import make_policy
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


def test_tighten_and_resolve_when_the_linear_model_is_optimistic(shared_data) -> None:
    settings = load_settings(CONGESTED, {"grid": {"tighten_factor": 0.85}})
    scenario = load_scenario(settings, 2)
    scenario.grid.connections.linear_margin = 1.3  # linear headroom 30 % above the ratings
    summary = run_policy(scenario, make_policy("mpc", settings)).summary
    assert summary["ac_resolves"] > 0
    assert summary["grid_violation_mwh"] == pytest.approx(0.0, abs=1e-6)
