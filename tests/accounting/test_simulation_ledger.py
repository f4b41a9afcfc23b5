"""The ledger of a real simulation (default scenario, one day) and the report command."""

from __future__ import annotations

import json

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
