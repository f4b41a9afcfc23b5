"""Factor sets: annual (China, published) and hourly (Electricity Maps, real 2021 data), CO2 vs
CO2e kept apart, metered facility energy, instruments by kind, restating.

Reference values are read straight from the data files with pandas (tool-made) or computed by
hand in the comments; tolerance 1e-9 relative unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.accounting.avoided import CounterfactualMismatchError, avoided_emissions
from control.accounting.checks import conservation_checks
from control.accounting.factors import FactorSetError, FactorTable, read_factor_set
from control.accounting.instruments import check_instruments
from control.accounting.ledger import build_ledger
from control.accounting.quality import data_quality_flags
from control.settings.accounting import InstrumentSettings

HOURS = pd.to_datetime(["2021-07-01T10:00Z", "2021-07-01T11:00Z"])


def _frames(regions: tuple[str, str] = ("DE", "FR")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two sites x two hours, 5 MWh facility (4 IT x PUE 1.25), 2 MWh green used of which 0.5
    absorbed curtailment, 3 MWh from the grid; one job per site-hour plus a second job at site a."""
    site_hour = pd.DataFrame({
        "time": list(HOURS) * 2, "site": ["a", "a", "b", "b"], "region": [regions[0]] * 2 + [regions[1]] * 2,
        "it_load_mw": 4.0, "load_mw": 5.0, "green_used_mw": 2.0, "curtailment_absorbed_mw": 0.5,
        "grid_import_mw": 3.0, "ci_g_per_kwh": 500.0,
    })
    dispatch = pd.DataFrame({
        "time": [HOURS[0], HOURS[0], HOURS[1], HOURS[0], HOURS[1]], "job_id": ["j1", "j2", "j1", "j3", "j3"],
        "site": ["a", "a", "a", "b", "b"], "gpus": [8, 8, 16, 16, 16], "work_gpu_h": [8.0, 8.0, 16.0, 16.0, 16.0],
        "it_energy_mwh": [2.0, 2.0, 4.0, 4.0, 4.0], "facility_energy_mwh": [2.5, 2.5, 5.0, 5.0, 5.0],
    })
    return dispatch, site_hour


@pytest.fixture(scope="module")
def hourly(repo) -> FactorTable:
    loaded = read_factor_set(repo / "data" / "factors" / "electricitymaps_2021_direct.toml", ["DE", "FR"])
    return FactorTable(loaded.name, loaded.version, None, {"DE": 0.45, "FR": 0.06}, {}, loaded.flags, loaded.gas,
                       loaded.location_hourly_t_per_mwh, loaded.cfe_hourly_share, loaded.estimated_hourly)


def test_hourly_factor_set_on_real_electricity_maps_data(hourly, shared_data) -> None:
    ledger = build_ledger(*_frames(), hourly)
    sh = ledger.site_hour.set_index(["site", "hour"])
    for site, zone in (("a", "DE"), ("b", "FR")):
        raw = pd.read_csv(shared_data / "carbon" / "electricitymaps" / f"{zone}_2021_hourly.csv.gz")
        raw["t"] = pd.to_datetime(raw["Datetime (UTC)"]).dt.tz_localize("UTC")
        for hour in HOURS:
            row = raw[raw["t"] == hour].iloc[0]
            ci_t_per_mwh = row["Carbon Intensity gCO₂eq/kWh (direct)"] / 1000.0
            got = sh.loc[(site, hour)]
            # location-based = grid x hourly factor (GHG Protocol Scope 2 Guidance 2015, ch. 6.6)
            assert got.location_tco2e == pytest.approx(3.0 * ci_t_per_mwh, rel=1e-9)
            # CFE = (green used + grid low-carbon share x grid) / load, per hour
            assert got.cfe_score == pytest.approx((2.0 + row["Low Carbon Percentage"] / 100.0 * 3.0) / 5.0, rel=1e-9)
    # CO2e set: the CO2 columns stay empty rather than mislabelled
    assert ledger.site_hour["location_tco2"].isna().all() and ledger.site_hour["market_tco2"].isna().all()
    assert conservation_checks(ledger)["holds"].all()
    assert set(ledger.job_intensity().columns) >= {"location_gco2e_per_gpu_h", "market_gco2e_per_gpu_h"}


def test_hourly_set_that_does_not_cover_the_period_names_the_gap(hourly) -> None:
    dispatch, site_hour = _frames()
    site_hour["time"] = site_hour["time"] + pd.DateOffset(years=2)
    dispatch["time"] = dispatch["time"] + pd.DateOffset(years=2)
    with pytest.raises(FactorSetError, match="2023-07-01 10:00:00.*covers 2021-01-01"):
        build_ledger(dispatch, site_hour, hourly)
    with pytest.raises(FactorSetError, match=r"no zone for region\(s\) \['XX'\]"):
        build_ledger(*_frames(("DE", "XX")), hourly)


def test_annual_set_and_its_errors(repo, tmp_path) -> None:
    loaded = read_factor_set(repo / "data" / "factors" / "china_2022_average.toml", ["gansu", "sichuan"])
    assert loaded.location_t_per_mwh == {"gansu": 0.4772, "sichuan": 0.1404}
    assert loaded.gas == "CO2" and "2022" in loaded.version
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nversion = "1"\ngas = "CH4"\n')
    with pytest.raises(FactorSetError, match="gas 'CH4'; allowed"):
        read_factor_set(bad, ["r"])
    bad.write_text('name = "x"\nversion = "1"\nunit = "kgCO2/kWh"\n[factors]\nother = 0.5\n')
    with pytest.raises(FactorSetError, match=r"no factor for region\(s\) \['r'\]"):
        read_factor_set(bad, ["r"])


def test_metered_facility_energy_replaces_the_model_and_jobs_share_it() -> None:
    dispatch, site_hour = _frames()
    site_hour["metered_energy_mwh"] = [6.0, np.nan, np.nan, np.nan]  # site a, first hour metered at 6 MWh
    factors = FactorTable("t", "v1", None, {"DE": 0.6, "FR": 0.6}, {"DE": 0.0, "FR": 0.0})
    ledger = build_ledger(dispatch, site_hour, factors)
    first = ledger.site_hour.iloc[0]
    assert first.facility_energy_mwh == 6.0 and first.grid_energy_mwh == pytest.approx(4.0)  # 6 - 2 green
    assert first.location_tco2 == pytest.approx(4.0 * 0.5)  # settled at 500 g/kWh
    jobs = ledger.job_hour[ledger.job_hour["hour"] == HOURS[0]].set_index("job_id")
    assert jobs.loc["j1", "facility_energy_mwh"] == pytest.approx(3.0)  # half of the metered 6 MWh
    assert conservation_checks(ledger)["holds"].all()
    assert any("modelled" in f and "3 of 4" in f for f in data_quality_flags(ledger))


def test_instruments_by_kind_and_the_cap_at_grid_energy() -> None:
    """Site a draws 6 MWh from the grid over the period; instruments hold 2 (PPA) + 10 (certificates)
    = 12 MWh, so both are scaled by 6/12: 1 MWh PPA at 0.1 t/MWh, 5 MWh certificates at 0, residual 0.
    Scope 2 Guidance 2015 ch. 6.7: market-based = sum(instrument MWh x instrument factor) + residual MWh
    x residual-mix factor."""
    instruments = [
        InstrumentSettings(claim_id="P-1", kind="ppa", site="a", mwh=2.0, vintage_year=2021, market="EU",
                           retired=True, factor_kg_per_kwh=0.1),
        InstrumentSettings(claim_id="G-1", kind="certificate", site="a", mwh=10.0, vintage_year=2021, market="EU",
                           retired=True),
    ]
    check = check_instruments(instruments, {"a": "EU", "b": "EU"}, 2021)
    factors = FactorTable("t", "v1", None, {"DE": 0.6, "FR": 0.6}, {"DE": 0.0, "FR": 0.0})
    ledger = build_ledger(*_frames(), factors, check.valid, check.rejected)
    site = ledger.period().set_index("site")
    assert site.loc["a", "contracted_ppa_mwh"] == pytest.approx(1.0)
    assert site.loc["a", "contracted_certificate_mwh"] == pytest.approx(5.0)
    assert site.loc["a", "residual_mwh"] == pytest.approx(0.0, abs=1e-12)
    assert site.loc["a", "market_tco2"] == pytest.approx(1.0 * 0.1)
    assert site.loc["b", "market_tco2"] == pytest.approx(6.0 * 0.6)  # no instruments: residual mix
    assert conservation_checks(ledger)["holds"].all()


def test_restating_same_version_is_identical_and_another_version_differs(repo) -> None:
    dispatch, site_hour = _frames(("gansu", "sichuan"))
    factors_dir = repo / "data" / "factors"

    def restate(name: str):
        loaded = read_factor_set(factors_dir / name, ["gansu", "sichuan"])
        table = FactorTable(loaded.name, loaded.version, loaded.location_t_per_mwh, {"gansu": 0.5, "sichuan": 0.5},
                            {"gansu": 0.0, "sichuan": 0.0})
        return build_ledger(dispatch, site_hour, table)

    a, b = restate("china_2022_average.toml"), restate("china_2022_average.toml")
    pd.testing.assert_frame_equal(a.job_hour, b.job_hour)
    pd.testing.assert_frame_equal(a.period(), b.period())
    c = restate("china_2021_national.toml")
    assert a.period().set_index("site").loc["TOTAL", "location_tco2"] == pytest.approx(6 * 0.4772 + 6 * 0.1404)
    assert c.period().set_index("site").loc["TOTAL", "location_tco2"] == pytest.approx(12 * 0.5568)
    assert c.period()["factor_set_version"].iloc[0] == "2021 national"
    with pytest.raises(CounterfactualMismatchError, match="same factor set"):
        avoided_emissions(a, c)
