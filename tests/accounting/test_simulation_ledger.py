"""The ledger of a real simulation (default scenario, one day) and the report command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from control.cli import main

REQUIRED = ["it_energy_mwh", "facility_energy_mwh", "grid_energy_mwh", "green_energy_mwh", "location_tco2", "market_tco2"]


def test_simulate_writes_the_ledger_and_it_adds_up_to_the_summary(sim) -> None:
    job_hour = pd.read_csv(sim / "ledger" / "job_hour.csv")
    site_day = pd.read_csv(sim / "ledger" / "site_day.csv")
    assert {"job_id", "site", "hour", *REQUIRED} <= set(job_hour.columns)
    assert {"site", "day", *REQUIRED} <= set(site_day.columns)
    summary = json.loads((sim / "summary.json").read_text())["policies"]["mpc"]
    assert job_hour["location_tco2"].sum() == pytest.approx(summary["emissions_tco2"], abs=1e-6)
    assert site_day["location_tco2"].sum() == pytest.approx(summary["emissions_tco2"], abs=1e-6)
    assert job_hour["facility_energy_mwh"].sum() == pytest.approx(summary["energy_mwh"], abs=1e-6)
    page = (sim / "report.html").read_text()
    assert "Carbon accounting" in page and "Methodology" in page and "Avoided emissions" in page
    assert page.count("data:image/png;base64,") >= 6


def test_restating_with_another_factor_version(sim, default_config, repo) -> None:
    base = ["report", "--sim", str(sim), "--config", str(default_config), "--policy", "agnostic"]
    assert main([*base, "--out", str(sim / "a")]) == 0
    assert main([*base, "--out", str(sim / "b")]) == 0
    national = repo / "data" / "factors" / "china_2021_national.toml"
    assert main([*base, "--factors", str(national), "--out", str(sim / "c")]) == 0
    a, b, c = (pd.read_csv(sim / d / "ledger" / "period.csv").set_index("site") for d in "abc")
    pd.testing.assert_frame_equal(a, b)  # same version, same numbers
    grid = a.loc["TOTAL", "grid_energy_mwh"]
    assert grid > 0.05  # the carbon-agnostic run draws from the grid
    assert c.loc["TOTAL", "location_tco2"] == pytest.approx(grid * 0.5568)
    assert c.loc["TOTAL", "location_tco2"] != pytest.approx(a.loc["TOTAL", "location_tco2"])
    assert "2021 national" in (sim / "c" / "report.html").read_text()


def test_report_errors_name_the_fix(sim, default_config, tmp_path, capsys) -> None:
    assert main(["report", "--sim", str(tmp_path), "--config", str(default_config)]) == 2
    assert "run `codispatch simulate" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nversion = "1"\nunit = "gCO2/kWh"\n[factors]\ndefault = 500\n')
    assert main(["report", "--sim", str(sim), "--config", str(default_config), "--factors", str(bad)]) == 2
    assert "kgCO2/kWh" in capsys.readouterr().err


def test_a_configured_factor_file_drives_the_simulation_and_the_ledger_alike(default_config, repo) -> None:
    """With ``[accounting] factor_file`` set, the run's intensity (hence summary.json's
    emissions_tco2 and the MPC's objective) and the ledger's location-based total use that set."""
    from control.accounting.from_run import ledger_for_run
    from control.policies import make_policy
    from control.scenario import load_scenario
    from control.settings import load_settings
    from control.simulate import run_policy

    national = repo / "data" / "factors" / "china_2021_national.toml"
    settings = load_settings(default_config, {"accounting": {"factor_file": str(national)}})
    scenario = load_scenario(settings, 1)
    run = run_policy(scenario, make_policy("agnostic", settings, scenario))
    assert run.site_hour["ci_g_per_kwh"].to_numpy() == pytest.approx(np.full(len(run.site_hour), 556.8))
    ledger = ledger_for_run(settings, run.dispatch, run.site_hour)
    assert ledger.factors.version == "2021 national"
    assert ledger.site_hour["location_tco2"].sum() == pytest.approx(run.summary["emissions_tco2"], abs=1e-6)
    assert ledger.site_hour["location_tco2"].sum() == pytest.approx(run.summary["grid_energy_mwh"] * 0.5568, abs=1e-6)


def test_report_for_one_utc_day_as_csv_adds_up_to_the_hours_it_covers(sim, default_config) -> None:
    out = sim / "day"
    assert main(["report", "--sim", str(sim), "--config", str(default_config), "--from", "2023-07-02",
                 "--to", "2023-07-03", "--format", "csv", "--out", str(out)]) == 0
    assert not (out / "report.html").exists()
    site_hour = pd.read_csv(sim / "site_hour_mpc.csv", parse_dates=["time"])
    day = site_hour[site_hour["time"] < pd.Timestamp("2023-07-03T00:00Z")]
    period = pd.read_csv(out / "ledger" / "period.csv").set_index("site")
    assert period.loc["TOTAL", "location_tco2"] == pytest.approx(day["emissions_t"].sum(), abs=1e-6)
    conservation = pd.read_csv(out / "ledger" / "conservation.csv")
    assert conservation["holds"].all()


def test_report_rejects_a_naive_time_and_an_empty_period_and_a_missing_store(sim, default_config, tmp_path,
                                                                            capsys) -> None:
    base = ["report", "--sim", str(sim), "--config", str(default_config)]
    assert main([*base, "--from", "2023-07-03T05:00"]) == 2
    assert "has no UTC offset" in capsys.readouterr().err
    assert main([*base, "--from", "2030-01-01"]) == 2
    assert "choose --from/--to inside it" in capsys.readouterr().err
    store = tmp_path / "x.sqlite"  # the store's own report is tested in test_report_from_store.py
    assert main(["report", "--db", f"sqlite:///{store}", "--config", str(default_config), "--out", str(tmp_path)]) == 2
    assert "run `codispatch tick --config CONFIG` first" in capsys.readouterr().err and not store.exists()
