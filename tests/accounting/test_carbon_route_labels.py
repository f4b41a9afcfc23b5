"""``[forecast] carbon = "electricitymaps"`` (issue 13, item 17): the controller, the settlement and
the ledger count with one carbon source, and the ledger says which: gas CO2e, hourly basis, source
and version, location_tco2e filled, the hourly CFE score from the zone's carbon-free share,
market-based never above location-based without instruments, the provider-estimated share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.accounting.from_run import ledger_for_run
from control.accounting.quality import data_quality_flags
from control.reporting.accounting_report import accounting_html
from control.scenario import site_carbon_intensity
from control.settings import load_settings
from forecasts.carbon_electricitymaps import read_electricitymaps

HOURS = pd.date_range("2023-07-03T00:00Z", periods=48, freq="h")


@pytest.fixture(scope="module")
def route(default_config, shared_data):
    zone = shared_data / "carbon/electricitymaps/CH_2021_hourly.csv.gz"
    base = load_settings(default_config)
    files = {r.name: str(zone) for r in base.regions}
    settings = load_settings(default_config, {"forecast": {"carbon": "electricitymaps", "electricitymaps_files": files}})
    ci = site_carbon_intensity(settings, HOURS)  # what the controller sees and the simulation settles on
    sites = settings.sites[:2]
    site_hour = pd.DataFrame([
        {"time": t, "site": s.name, "region": s.region, "it_load_mw": 0.8, "load_mw": 1.0, "green_used_mw": 0.25,
         "curtailment_absorbed_mw": 0.0, "grid_import_mw": 0.75, "ci_g_per_kwh": float(ci.loc[t, s.name])}
        for t in HOURS for s in sites])
    dispatch = pd.DataFrame([{"time": t, "job_id": f"j-{s.name}", "site": s.name, "gpus": 8, "work_gpu_h": 8.0,
                              "it_energy_mwh": 0.8, "facility_energy_mwh": 1.0} for t in HOURS for s in sites])
    return settings, ledger_for_run(settings, dispatch, site_hour), site_hour, read_electricitymaps(zone)[0]


def test_labels_gas_basis_source_and_version(route) -> None:
    _settings, ledger, _site_hour, _zone = route
    f = ledger.factors
    assert (f.gas, f.basis) == ("CO2e", "hourly")
    assert "Electricity Maps" in f.source and "direct" in f.source and "emission_factor" not in f.source
    assert f.version.startswith("2021 sha256:")
    period = ledger.period().set_index("site")
    assert period.loc["TOTAL", "factor_gas"] == "CO2e" and period.loc["TOTAL", "factor_basis"] == "hourly"
    html = accounting_html(ledger, None, "mpc")
    assert 'id="factor-gas">CO2e<' in html and 'id="factor-basis">hourly<' in html and "CO<sub>2</sub>e" in html


def test_one_source_feeds_controller_settlement_and_ledger(route) -> None:
    _settings, ledger, site_hour, _zone = route
    sh = ledger.site_hour
    assert sh["location_tco2e"].notna().all() and sh["location_tco2"].isna().all()
    # the ledger's factor of each hour is the intensity the hour was settled at (and the MPC saw)
    np.testing.assert_allclose(sh["location_factor_t_per_mwh"] * 1000.0, site_hour["ci_g_per_kwh"], rtol=1e-12)
    np.testing.assert_allclose(sh["location_tco2e"], 0.75 * site_hour["ci_g_per_kwh"] / 1000.0, rtol=1e-12)


def test_cfe_from_the_zone_share_and_market_not_above_location(route) -> None:
    _settings, ledger, _site_hour, zone = route
    sh = ledger.site_hour
    share = zone["low_carbon_pct"].reindex(sh["hour"] - pd.DateOffset(years=2)).to_numpy() / 100.0
    np.testing.assert_allclose(sh["grid_cfe_share"], share, rtol=1e-12)
    np.testing.assert_allclose(sh["cfe_score"], 0.25 + 0.75 * share, rtol=1e-12)
    assert sh["cfe_score"].min() > 0.5  # Switzerland's grid is mostly carbon-free (was 0 %)
    assert (sh["market_tco2e"] <= sh["location_tco2e"] + 1e-12).all()  # no instruments: never above


def test_provider_estimated_share_is_reported(route) -> None:
    _settings, ledger, _site_hour, zone = route
    expected = float(zone["estimated"].reindex(ledger.site_hour["hour"] - pd.DateOffset(years=2)).mean())
    period = ledger.period().set_index("site")
    assert period.loc["TOTAL", "provider_estimated_share"] == pytest.approx(expected)
    flags = data_quality_flags(ledger)
    assert any("of the hourly factors of zone CH were estimated by Electricity Maps" in f for f in flags)
    if expected > 0:
        assert any("use an hourly factor the data provider estimated" in f and f"({expected:.0%})" in f for f in flags)
