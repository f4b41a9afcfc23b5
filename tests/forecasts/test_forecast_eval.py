"""``codispatch forecast-eval`` on the real files: JSON keys, table, plot, clean input errors."""

from __future__ import annotations

import json

from control.cli import main


def test_wind_eval_writes_json_table_and_plot(shared_data, tmp_path, capsys) -> None:
    out = tmp_path / "w2.json"
    code = main(["forecast-eval", "wind", "--power", str(shared_data / "wind/gefcom2012/train_wp1-4.csv.gz"),
                 "--farm", "2", "--nwp", str(shared_data / "wind/gefcom2012/windforecasts_wf2.csv.gz"),
                 "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert list(result["skill_vs_persistence"]) == [str(h) for h in range(1, 49)]
    assert min(result["skill_vs_persistence"][str(h)] for h in range(6, 49)) >= 0.25
    assert out.with_suffix(".png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "MAE" in printed and "skill" in printed and printed.count("\n") > 48
    # calibrated quantiles on the held-out half: P10-P90 covers 80 % +- 5 pp, per horizon too
    q = result["quantiles"]
    assert 0.75 <= q["coverage_p10_p90_mean"] <= 0.85
    assert all(0.70 <= c <= 0.90 for c in q["coverage_p10_p90"].values())
    assert "P10-P90 cover" in printed and "pinball" in printed


def test_solar_eval_on_site1(shared_data, tmp_path) -> None:
    out = tmp_path / "s1.json"
    assert main(["forecast-eval", "solar", "--measured",
                 str(shared_data / "solar/stategrid/solar_site1_50MW.csv.gz"),
                 "--capacity-mw", "50", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["fit_year"] == 2019 and result["score_year"] == 2020
    assert result["daily_energy_nmae"] <= 0.15 and result["daily_energy_nmae_unflagged"] <= 0.10
    assert 0 < result["hourly_nrmse"] < 0.15
    assert 360 <= result["days_scored"] <= 366  # whole local solar days only
    assert set(result["skill_vs_persistence"]) == {str(h) for h in range(1, 49)}
    assert out.with_suffix(".png").is_file()
    # default headline: the physical model; both models are reported
    assert result["curtailment_persistence"] is False
    assert result["daily_energy_nmae"] == result["models"]["physical"]["daily_energy_nmae"]
    assert result["models"]["curtailment_persistence"]["daily_energy_nmae_unflagged"] <= 0.10
    assert 0.75 <= result["quantiles"]["coverage_p10_p90_mean"] <= 0.85  # daylight hours of 2020


def test_solar_eval_on_site2_with_curtailment_persistence(shared_data, tmp_path, capsys) -> None:
    out = tmp_path / "s2.json"
    assert main(["forecast-eval", "solar", "--measured",
                 str(shared_data / "solar/stategrid/solar_site2_130MW.csv.gz"),
                 "--capacity-mw", "130", "--json", str(out), "--curtailment-persistence"]) == 0
    result = json.loads(out.read_text())
    assert result["curtailment_persistence"] is True and result["cap_arm_days"] == 2
    models = result["models"]
    assert result["daily_energy_nmae"] == models["curtailment_persistence"]["daily_energy_nmae"]
    assert result["daily_energy_nmae"] <= 0.15 and result["daily_energy_nmae_unflagged"] <= 0.10
    assert models["physical"]["daily_energy_nmae"] > 0.15  # the physical model alone misses it
    assert models["curtailment_persistence"]["days_capped"] > 30 and models["physical"]["days_capped"] == 0
    printed = capsys.readouterr().out
    assert "curtailment persistence (headline)" in printed and "pvlib model," in printed


def test_bad_input_is_a_clean_error(tmp_path, capsys) -> None:
    code = main(["forecast-eval", "solar", "--measured", str(tmp_path / "missing.csv"), "--capacity-mw", "5",
                 "--json", str(tmp_path / "x.json")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_carbon_china_eval_writes_average_model_and_plot(shared_data, tmp_path) -> None:
    out = tmp_path / "nw.json"
    assert main(["forecast-eval", "carbon-china", "--region", "Northwest",
                 "--grid-dir", str(shared_data / "grid/china"), "--weather-dir", str(shared_data / "weather/cswd"),
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["intensity"].startswith("AVERAGE")
    assert abs(result["annual_mean_g_per_kwh"] / result["published_g_per_kwh"] - 1) <= 0.01
    assert result["corr_ci_vs_wind_solar_share"] < -0.5
    assert out.with_suffix(".png").stat().st_size > 10_000 and out.with_suffix(".csv").is_file()


def test_carbon_eval_blend_and_calibrated_quantiles(shared_data, tmp_path, capsys) -> None:
    out = tmp_path / "be.json"
    # BE was not among the zones the blend weights were fitted on
    assert main(["forecast-eval", "carbon", "--file", str(shared_data / "carbon/electricitymaps/BE_2021_hourly.csv.gz"),
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert 0.75 <= result["quantiles"]["coverage_p10_p90_mean"] <= 0.85
    assert result["skill_vs_persistence"]["24"] > 0.0
    assert set(result["quantiles"]["pinball"]) == {str(h) for h in range(1, 49)}
    assert "pinball" in capsys.readouterr().out
