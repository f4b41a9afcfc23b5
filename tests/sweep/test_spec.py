"""Sweep files: key paths, value sets, samples and up-front validation (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.sweep.spec import SweepError, apply_key, read_sweep
from control.sweep.task import code_version, run_task, scenario_key

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "config" / "default.toml"


def _sweep(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_key_paths_reach_tables_list_entries_filters_and_scale() -> None:
    data = {"mpc": {"horizon_h": 48}, "sites": [{"name": "a", "tier": "west", "pv_capacity_mw": 2.0},
                                                 {"name": "b", "tier": "east", "pv_capacity_mw": 3.0}]}
    apply_key(data, "mpc.horizon_h", 24)
    apply_key(data, "sites.b.pv_capacity_mw", 7.0)
    apply_key(data, "sites[tier=west].pv_capacity_mw:scale", 3)
    apply_key(data, "sites.*.pue", 1.2)
    apply_key(data, "sites.0.label", "first")
    apply_key(data, "grid.ac_check", False)  # a table the base leaves at its defaults
    assert data["mpc"]["horizon_h"] == 24
    assert [s["pv_capacity_mw"] for s in data["sites"]] == [6.0, 7.0]
    assert [s["pue"] for s in data["sites"]] == [1.2, 1.2]
    assert data["sites"][0]["label"] == "first" and data["grid"] == {"ac_check": False}
    with pytest.raises(SweepError, match="no entry named 'nowhere'; names are \\['a', 'b'\\]"):
        apply_key(data, "sites.nowhere.pv_capacity_mw", 1.0)
    with pytest.raises(SweepError, match="nothing to scale"):
        apply_key(data, "sites.a.wind_capacity_mw:scale", 2.0)


def test_grid_list_sample_and_periods_multiply(tmp_path: Path) -> None:
    path = _sweep(tmp_path, """
[sweep]
policies = ["agnostic"]
days = [1, 2]
[grid]
"sites.qingyang.pv_capacity_mw" = [5.0, 10.0]
[list]
"mpc.horizon_h" = [12, 24, 36]
"mpc.cost_weight_t_per_currency" = [0.0, 0.001, 0.002]
[sample]
method = "lhs"
n = 4
seed = 3
[sample.ranges]
"sites.zhongwei.wind_capacity_mw" = [0.0, 20.0]
"mpc.hourly_h" = { low = 6, high = 18, integer = true }
""")
    plan = read_sweep(path, BASE)
    assert len(plan.scenarios) == 2 * 3 * 4 * 2
    assert plan.keys == ("sites.qingyang.pv_capacity_mw", "mpc.horizon_h", "mpc.cost_weight_t_per_currency",
                         "sites.zhongwei.wind_capacity_mw", "mpc.hourly_h")
    first = plan.scenarios[0]
    assert first.settings.site("qingyang").pv_capacity_mw == 5.0 and first.settings.mpc.horizon_h == 12
    winds = sorted({s.params["sites.zhongwei.wind_capacity_mw"] for s in plan.scenarios})
    assert len(winds) == 4 and all(0.0 <= w <= 20.0 for w in winds)
    # Latin hypercube: one sample in each quarter of the range; the same seed gives the same samples
    assert sorted(int(w // 5.0) for w in winds) == [0, 1, 2, 3]
    again = read_sweep(path, BASE)
    assert [s.params for s in again.scenarios] == [s.params for s in plan.scenarios]
    assert all(isinstance(s.params["mpc.hourly_h"], int) for s in plan.scenarios)
    assert {s.days for s in plan.scenarios} == {1, 2}


def test_a_bad_value_is_reported_with_its_key_and_scenario_before_anything_runs(tmp_path: Path) -> None:
    path = _sweep(tmp_path, """
[sweep]
days = 1
[grid]
"sites.qingyang.pue" = [1.2, 0.5]
""")
    with pytest.raises(SweepError) as info:
        read_sweep(path, BASE)
    text = str(info.value)
    assert "1 of 2 scenarios are invalid; nothing was run" in text
    assert "scenario s0001" in text and "sites.qingyang.pue=0.5" in text and ".pue = 0.5" in text


def test_a_connection_too_small_for_its_site_is_caught_up_front(tmp_path: Path) -> None:
    path = _sweep(tmp_path, '[sweep]\ndays = 1\n[grid]\n"sites.qingyang.connection.transformer_mva" = [6.3, 1.0]\n')
    with pytest.raises(SweepError, match=r"scenario s0001 .*site 'qingyang': facility capacity .* exceeds its connection"):
        read_sweep(path, BASE)


def test_unknown_keys_and_policies_are_named(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="unknown key 'mpc.horizon'; valid keys here are: block_h"):
        read_sweep(_sweep(tmp_path, '[grid]\n"mpc.horizon" = [1]\n'), BASE)
    with pytest.raises(SweepError, match="unknown \\['best'\\]"):
        read_sweep(_sweep(tmp_path, '[sweep]\npolicies = ["best"]\n'), BASE)
    with pytest.raises(SweepError, match="one common length"):
        read_sweep(_sweep(tmp_path, '[list]\n"mpc.horizon_h" = [12, 24]\n"mpc.hourly_h" = [6]\n'), BASE)


def test_key_follows_config_and_code_not_the_scenario_name(tmp_path: Path) -> None:
    plan = read_sweep(_sweep(tmp_path, '[sweep]\ndays = 1\n[grid]\n"mpc.horizon_h" = [24, 24, 36]\n'), BASE)
    keys = [scenario_key(s) for s in plan.scenarios]
    assert keys[0] == keys[1] != keys[2]
    assert scenario_key(plan.scenarios[0], version="other code") != keys[0]


def test_a_failing_scenario_returns_its_error() -> None:
    result = run_task({"scenario_id": "s9", "key": "k", "config": {"scenario": {"name": "x"}}, "days": 1,
                       "policies": ["agnostic"], "code_version": code_version()})
    assert result["status"] == "failed" and "ConfigError" in result["error"] and "required key is missing" in result["error"]
