"""The carbon ledger against hand-computed cases, and its conservation identities.

Formulas: GHG Protocol Scope 2 Guidance (2015) ch. 6 (location- and market-based), ch. 7 (quality
criteria); 24/7 CFE score as hourly min(load, clean supply) plus the grid's clean share.
"""

from __future__ import annotations

import pandas as pd
import pytest

from control.accounting.avoided import avoided_emissions
from control.accounting.checks import conservation_checks, format_checks
from control.accounting.instruments import check_instruments
from control.accounting.ledger import FactorTable, build_ledger
from control.settings.accounting import InstrumentSettings

HOUR = pd.Timestamp("2023-07-03T00:00Z")
FACTORS = FactorTable("test factors", "v1", None, {"r": 0.6}, {"r": 0.3})


def _site_hour(grid_mwh: float = 6.0) -> pd.DataFrame:
    """One site-hour: 10 MWh facility load (8 IT x PUE 1.25): 4 MWh green used, 1 of it
    absorbed curtailment, the rest from the grid at 500 gCO2/kWh."""
    return pd.DataFrame({
        "time": [HOUR], "site": ["s"], "region": ["r"], "it_load_mw": [8.0], "load_mw": [4.0 + grid_mwh],
        "green_used_mw": [4.0], "curtailment_absorbed_mw": [1.0], "grid_import_mw": [grid_mwh],
        "ci_g_per_kwh": [500.0],
    })


def _dispatch() -> pd.DataFrame:
    return pd.DataFrame({"time": [HOUR, HOUR], "job_id": ["a", "b"], "site": ["s", "s"], "gpus": [70, 30],
                         "work_gpu_h": [70.0, 30.0], "it_energy_mwh": [5.6, 2.4], "facility_energy_mwh": [7.0, 3.0]})


def test_location_based_split_and_jobs_pro_rata() -> None:
    ledger = build_ledger(_dispatch(), _site_hour(), FACTORS)
    site = ledger.site_hour.iloc[0]
    assert site.location_tco2 == pytest.approx(6.0 * 0.5)  # 6 MWh x 0.5 t/MWh
    assert site.onsite_green_mwh == pytest.approx(3.0) and site.curtailment_absorbed_mwh == pytest.approx(1.0)
    jobs = ledger.job_hour.set_index("job_id")
    assert jobs.loc["a", "location_tco2"] == pytest.approx(3.0 * 0.7)
    assert jobs.loc["b", "grid_energy_mwh"] == pytest.approx(6.0 * 0.3)
    intensity = ledger.job_intensity().set_index("job_id")
    assert intensity.loc["a", "location_gco2_per_gpu_h"] == pytest.approx(2.1e6 / 70.0)  # 30,000 g per GPU-h


def test_cfe_score_is_hourly_clean_over_load() -> None:
    ledger = build_ledger(_dispatch(), _site_hour(), FACTORS)
    # (min(10, 4) + 0.3 x 6) / 10
    assert ledger.site_hour.iloc[0].cfe_score == pytest.approx((4.0 + 0.3 * 6.0) / 10.0)


def _instrument(claim_id: str, **changes) -> InstrumentSettings:
    base = dict(claim_id=claim_id, kind="certificate", site="s", mwh=2.0, vintage_year=2023, market="CN", retired=True)
    return InstrumentSettings(**(base | changes))


def test_market_based_counts_only_valid_instruments_and_uses_the_residual_mix() -> None:
    instruments = [
        _instrument("GEC-1"),                                  # valid: 2 MWh at 0
        _instrument("GEC-2", vintage_year=2021),               # old vintage
        _instrument("GEC-3", market="EU"),                     # other market
        _instrument("GEC-4", retired=False),                   # not retired
        _instrument("GEC-5"), _instrument("GEC-5"),            # the same claim twice
    ]
    check = check_instruments(instruments, {"s": "CN"}, reporting_year=2023)
    assert list(check.valid["claim_id"]) == ["GEC-1"]
    assert set(check.rejected["claim_id"]) == {"GEC-2", "GEC-3", "GEC-4", "GEC-5"}
    ledger = build_ledger(_dispatch(), _site_hour(), FACTORS, check.valid, check.rejected)
    site = ledger.site_hour.iloc[0]
    assert site.contracted_mwh == pytest.approx(2.0) and site.residual_mwh == pytest.approx(4.0)
    assert site.market_tco2 == pytest.approx(2.0 * 0.0 + 4.0 * 0.6)
    assert "vintage 2021" in check.rejected.set_index("claim_id").loc["GEC-2", "reason"]


def test_avoided_is_counterfactual_minus_actual() -> None:
    actual = build_ledger(_dispatch(), _site_hour(grid_mwh=6.0), FACTORS)
    baseline = build_ledger(_dispatch(), _site_hour(grid_mwh=10.0), FACTORS)
    total = avoided_emissions(actual, baseline).set_index("site").loc["TOTAL"]
    assert total.avoided_location_tco2 == pytest.approx(10.0 * 0.5 - 6.0 * 0.5)
    assert total.avoided_market_tco2 == pytest.approx(10.0 * 0.6 - 6.0 * 0.6)


def test_conservation_holds_and_a_broken_ledger_is_caught() -> None:
    ledger = build_ledger(_dispatch(), _site_hour(), FACTORS)
    checks = conservation_checks(ledger, summary_emissions_tco2=3.0)
    assert checks["holds"].all(), checks
    assert "all 22 identities hold" in format_checks(checks)
    ledger.job_hour.loc[0, "location_tco2"] += 0.01
    broken = conservation_checks(ledger, summary_emissions_tco2=3.1)
    assert not broken["holds"].all()
    assert "FAILED" in format_checks(broken)
