"""Closed loop on the embedded default (real weather, real job traces), two days.

Invariants of the vertical slice: the controller shifts work onto green power (fewer emissions
than the carbon-agnostic baseline), serves the same work, meets deadlines, keeps every job inside
its window and every site inside its GPU capacity and grid import limit.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from control.cli import main
from control.policies import AgnosticPolicy, GreedyPolicy, MpcPolicy, TemporalPolicy
from control.scenario import load_scenario
from control.settings import load_settings
from control.simulate import run_policy


@pytest.fixture(scope="module")
def runs(default_config):
    settings = load_settings(default_config)
    scenario = load_scenario(settings, days=2)
    return scenario, {
        "agnostic": run_policy(scenario, AgnosticPolicy()),
        "mpc": run_policy(scenario, MpcPolicy(settings.mpc)),
        "greedy": run_policy(scenario, GreedyPolicy()),
        "temporal": run_policy(scenario, TemporalPolicy()),
    }


def test_mpc_cuts_emissions_and_serves_the_same_work(runs) -> None:
    scenario, result = runs
    agnostic, mpc = result["agnostic"].summary, result["mpc"].summary
    assert len(scenario.jobs) > 20
    assert mpc["emissions_tco2"] < 0.8 * agnostic["emissions_tco2"]
    assert mpc["green_share"] > agnostic["green_share"]
    assert mpc["work_gpu_h"] == pytest.approx(scenario.jobs["work_gpu_h"].sum(), rel=1e-9)
    assert agnostic["work_gpu_h"] == pytest.approx(mpc["work_gpu_h"], rel=1e-9)
    assert mpc["deadline_misses"] == 0 and agnostic["deadline_misses"] == 0
    assert mpc["grid_violation_mwh"] == 0


def test_mpc_moves_work_away_from_home(runs) -> None:
    _, result = runs
    dispatch = result["mpc"].dispatch.merge(result["mpc"].jobs[["job_id", "home_site"]], on="job_id")
    moved = (dispatch["site"] != dispatch["home_site"]).mean()
    assert moved > 0.2  # the agnostic policy never moves anything


def test_mpc_beats_the_simple_carbon_aware_baselines(runs) -> None:
    _, result = runs
    mpc = result["mpc"].summary["emissions_tco2"]
    for name in ("greedy", "temporal"):
        assert mpc <= result[name].summary["emissions_tco2"]
        assert result[name].summary["emissions_tco2"] < result["agnostic"].summary["emissions_tco2"]
        assert result[name].summary["deadline_misses"] == 0


@pytest.mark.parametrize("policy", ["agnostic", "greedy", "temporal", "mpc"])
def test_windows_capacity_and_limits_hold(runs, policy) -> None:
    scenario, result = runs
    run = result[policy]
    d = run.dispatch.merge(run.jobs[["job_id", "release", "deadline", "gpus", "allowed_sites"]], on="job_id")
    assert (d["time"] >= d["release"]).all()
    assert (d["time"] + pd.Timedelta(hours=1) <= d["deadline"]).all()
    assert (d["gpus_x"] == d["gpus_y"]).all()  # whole gang
    allowed = d[d["allowed_sites"] != ""]
    assert all(site in spec.split(";") for site, spec in zip(allowed["site"], allowed["allowed_sites"], strict=True))
    assert not d.duplicated(["time", "job_id"]).any()  # one site per job per hour
    gpus = d.groupby(["time", "site"])["gpus_x"].sum()
    capacity = dict(zip(scenario.fleet.names, scenario.fleet.gpu_count, strict=True))
    assert all(gpus.loc[t, s] <= capacity[s] for t, s in gpus.index)
    sh = run.site_hour
    np.testing.assert_allclose(sh["load_mw"], sh["green_used_mw"] + sh["grid_import_mw"], atol=1e-9)
    assert (sh["green_used_mw"] <= sh["green_available_mw"] + 1e-9).all()
    if policy == "mpc":
        assert (sh["grid_import_mw"] <= sh["import_limit_mw"] + 1e-9).all()
    # migrations: consecutive runs of a job at different sites, each counted once
    d = d.sort_values(["job_id", "time"])
    previous = d.groupby("job_id")["site"].shift()
    moved = previous.notna() & (previous != d["site"])
    assert (moved.to_numpy() == d["migrated"].to_numpy()).all()
    assert run.summary["migrations"] == int(moved.sum())
    # the jobs' energy is the sites' energy, hour by hour
    per_site = run.dispatch.groupby(["time", "site"])["it_energy_mwh"].sum()
    site_it = sh.set_index(["time", "site"])["it_load_mw"]
    np.testing.assert_allclose(per_site.to_numpy(), site_it.loc[per_site.index].to_numpy(), atol=1e-9)
    assert (site_it.drop(per_site.index).abs() < 1e-12).all()  # no job, no IT load


def test_cli_writes_summary_and_report(default_config, tmp_path) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--config", str(default_config), "--days", "1", "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"scenario", "days", "sites", "jobs", "policies"} <= set(summary)
    for numbers in summary["policies"].values():
        for key in ("energy_mwh", "green_energy_mwh", "grid_energy_mwh", "emissions_tco2", "green_share",
                    "deadline_misses", "grid_violation_mwh", "solve_s_mean", "solve_s_max"):
            assert isinstance(numbers[key], int | float)
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "agnostic" in html


def test_bad_config_writes_nothing(default_config, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    text = default_config.read_text().replace("horizon_h = 48", "horizon_h = 48\nhorizon_days = 2")
    bad.write_text(text.replace('"../data/', f'"{default_config.parent.parent}/data/'))
    out = tmp_path / "out"
    assert main(["simulate", "--config", str(bad), "--days", "1", "--out", str(out)]) == 2
    assert "unknown key 'mpc.horizon_days'" in capsys.readouterr().err
    assert not out.exists()


def test_site_outage_gets_no_work_and_jobs_redispatch(default_config) -> None:
    import tomllib

    from control.settings import parse_settings

    data = tomllib.loads(default_config.read_text())
    data["outages"] = [{"site": "zhangjiakou", "start": "2023-07-02T16:00:00Z", "end": "2023-07-03T10:00:00Z",
                        "reason": "maintenance"}]
    settings = parse_settings(data, base_dir=default_config.parent)
    scenario = load_scenario(settings, days=1)
    without = run_policy(load_scenario(parse_settings(tomllib.loads(default_config.read_text()),
                                                      base_dir=default_config.parent), days=1), AgnosticPolicy())
    home = without.dispatch[(without.dispatch["site"] == "zhangjiakou")
                            & (without.dispatch["time"] < pd.Timestamp("2023-07-03T10:00:00Z"))]
    assert not home.empty, "the outage window must matter: zhangjiakou has work there without it"
    for policy in (MpcPolicy(settings.mpc), GreedyPolicy(), AgnosticPolicy()):
        run = run_policy(scenario, policy)
        during = run.dispatch[(run.dispatch["site"] == "zhangjiakou")
                              & (run.dispatch["time"] < pd.Timestamp("2023-07-03T10:00:00Z"))]
        assert during.empty, policy.name
    assert run_policy(scenario, MpcPolicy(settings.mpc)).summary["deadline_misses"] == 0


def test_elastic_jobs_run_on_whole_gpus_within_their_range(default_config) -> None:
    settings = load_settings(default_config)
    scenario = load_scenario(settings, days=1)
    jobs = scenario.jobs.copy()
    elastic = jobs.index % 2 == 0
    jobs.loc[elastic, "min_gpus"] = (jobs.loc[elastic, "gpus"] // 4).clip(lower=1)
    run = run_policy(dataclasses.replace(scenario, jobs=jobs), MpcPolicy(settings.mpc))
    d = run.dispatch.merge(jobs[["job_id", "gpus", "min_gpus"]], on="job_id", suffixes=("", "_max"))
    assert (d["gpus"] >= d["min_gpus"]).all() and (d["gpus"] <= d["gpus_max"]).all()
    assert (d["gpus"] == d["gpus"].round()).all()
    fixed = d[d["min_gpus"] == d["gpus_max"]]
    assert (fixed["gpus"] == fixed["gpus_max"]).all()
    assert run.summary["work_gpu_h"] == pytest.approx(jobs["work_gpu_h"].sum(), rel=1e-9)
    assert run.summary["deadline_misses"] == 0
    print("elastic jobs run below their maximum in", int((d["gpus"] < d["gpus_max"]).sum()), "job-hours")
