"""pvlib chain calibrated on 2019 and scored on 2020 for both real State Grid plants.

Scored twice: the physical model alone, and capped by curtailment persistence (export ceiling
carried forward from measured data of earlier days; no look-ahead, see the test below).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.solar_calibration import (
    _caps_from_flags,
    altitude_from_pressure_m,
    calibrate,
    estimate_longitude,
    flag_days,
    clearsky_ghi,
    curtailment_caps,
    score_model,
    solar_day,
)
from forecasts.stategrid import IRRADIANCE_COLUMNS, read_stategrid, to_hourly

PLANTS = {"solar_site1_50MW": 50.0, "solar_site2_130MW": 130.0}


@pytest.fixture(scope="module")
def scored(shared_data):
    out = {}
    for name, capacity in PLANTS.items():
        frame, _ = read_stategrid(shared_data / f"solar/stategrid/{name}.csv.gz", capacity_mw=capacity)
        hourly = to_hourly(frame)
        fit = calibrate(hourly.loc["2019"], capacity, IRRADIANCE_COLUMNS)
        score, daily = score_model(fit, hourly.loc["2020"], capacity)
        capped, capped_daily = score_model(fit, hourly.loc["2020"], capacity, curtailment_persistence=True)
        print(name, fit, score, capped, sep="\n")
        out[name] = (fit, score, daily, capped, capped_daily, hourly)
    return out


def test_site1_meets_both_targets(scored) -> None:
    """Site 1 (2020): physical 0.130 all / 0.060 unflagged, hourly nRMSE 0.092 / 0.049; with curtailment
    persistence 0.126 / 0.067, hourly 0.088 / 0.055 (its curtailment is short dispatch cuts, so a
    carried cap also clips a few ordinary days after a run: unflagged a little worse, within targets)."""
    fit, score, _, capped, _, _ = scored["solar_site1_50MW"]
    for result in (score, capped):
        assert result.daily_energy_nmae <= 0.15
        assert result.daily_energy_nmae_unflagged <= 0.10
        assert result.hourly_nrmse_unflagged <= 0.07
    assert not score.curtailment_persistence and score.days_capped == 0
    assert capped.curtailment_persistence and capped.days_capped > 0
    # the 'Total' column is in the plane of the array: the fit needs no transposition
    assert fit.irradiance_column == "total_irradiance_w_per_m2" and fit.tilt_deg <= 5


def test_site2_meets_both_targets_only_with_curtailment_persistence(scored) -> None:
    """Site 2 (2020). Physical model: 0.090 unflagged but 0.157 on all days, because from 23 Jan to
    mid-March 2020 (China's COVID demand slump) the plant was held at about 35-60 MW, half its usual
    peak, under clear skies: grid curtailment, which no weather-driven model can know (the flag rule
    marks those days). Curtailment persistence carries the export ceiling of earlier curtailed days
    forward (an operator knows a standing order): 0.127 all days, 0.092 unflagged; hourly nRMSE
    0.076 -> 0.063 (unflagged 0.050 either way). Every arming length of 1-4 days gives 0.12-0.14."""
    fit, score, daily, capped, capped_daily, _ = scored["solar_site2_130MW"]
    assert score.daily_energy_nmae_unflagged <= 0.10
    assert 0.15 < score.daily_energy_nmae <= 0.17  # the documented shortfall of the physical model
    winter = daily.loc["2020-01-23":"2020-03-16"]
    assert winter["flagged"].mean() > 0.6
    assert (winter.loc[winter["flagged"], "model"] > winter.loc[winter["flagged"], "measured"]).all()
    assert fit.tilt_deg >= 5  # horizontal sensor, tilted array: power/irradiance swings with season

    assert capped.daily_energy_nmae <= 0.15
    assert capped.daily_energy_nmae_unflagged <= 0.10
    assert capped.hourly_nrmse < score.hourly_nrmse and capped.hourly_nrmse_unflagged <= 0.055
    # the same days are flagged either way: the cap does not feed the flags
    pd.testing.assert_series_equal(capped_daily["flagged"], daily["flagged"])
    # the cap stands through the slump, at its level, and is mostly off the rest of the year
    caps = capped_daily["cap_mw"]
    assert caps.loc["2020-02-01":"2020-02-26"].notna().mean() > 0.8
    assert caps.loc["2020-02-01":"2020-02-26"].dropna().between(30, 65).all()
    assert caps.loc["2020-06-01":"2020-07-31"].isna().all()


def test_curtailment_cap_has_no_look_ahead(scored) -> None:
    """Changing every measurement on or after day D leaves the caps of D and all earlier days unchanged."""
    fit, _, _, _, capped_daily, hourly = scored["solar_site2_130MW"]
    year = hourly.loc["2020"]
    reference = curtailment_caps(fit, year, 130.0)
    pd.testing.assert_series_equal(reference, capped_daily["cap_mw"].reindex(reference.index), check_names=False)
    day = solar_day(year.index, fit.longitude_deg)
    rng = np.random.default_rng(0)
    for start in ["2020-01-27", "2020-02-10", "2020-02-27", "2020-04-27"]:
        d = pd.Timestamp(start, tz="UTC")
        assert np.isfinite(reference.loc[d])  # a cap is in force on D
        later = day >= d
        changed = year.copy()
        # measured power at the full AC limit and irradiance scrambled from D on
        changed.loc[later, "p_mw"] = fit.capacity_ac_mw
        for column in IRRADIANCE_COLUMNS:
            changed.loc[later, column] = rng.uniform(0, 1000, int(later.sum()))
        again = curtailment_caps(fit, changed, 130.0)
        pd.testing.assert_series_equal(again.loc[:d], reference.loc[:d])
        assert not again.loc[d:].equals(reference.loc[d:])  # the change does reach later days


def test_curtailment_persistence_rule_on_synthetic_days() -> None:
    """Arm after 2 ceiling days in a row (fault days skipped), keep the cap through an ordinary day
    at or below it, move it with each further ceiling day, release it after a day above it."""
    days = pd.date_range("2020-01-01", periods=10, freq="D", tz="UTC")
    kind = ["ceil", "fault", "ceil", "norm", "ceil", "ceil", "norm", "ceil", "norm", "ceil"]
    peak = pd.Series([40.0, 30, 45, 30, 50, 42, 60, 40, 90, 40], index=days)
    flags = pd.DataFrame({"gap": False, "outage": False, "sensor": [k == "fault" for k in kind],
                          "pr": [100.0 if k == "norm" else 50.0 for k in kind]}, index=days)
    flags["curtailed"] = flags["pr"] < 75  # the fault day is low too: the fault excludes it
    caps = _caps_from_flags(peak, flags, tuple([100.0] * 12), arm_days=2)
    expected = [np.nan, np.nan, np.nan, 45, 45, 50, 42, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(caps.to_numpy(), expected)
    # with arming after one day, day 0 alone sets a cap for day 1
    assert _caps_from_flags(peak, flags, tuple([100.0] * 12), arm_days=1).iloc[1] == 40


def test_flag_rule_does_not_see_the_model(scored, shared_data) -> None:
    """Flags depend on measured data and the fit-year reference only: the same with any model."""
    fit, _, daily = scored["solar_site1_50MW"][:3]
    frame, _ = read_stategrid(shared_data / "solar/stategrid/solar_site1_50MW.csv.gz", capacity_mw=50)
    hourly = to_hourly(frame).loc["2020"]
    clear = clearsky_ghi(hourly.index, fit.latitude_deg, fit.longitude_deg, fit.altitude_m)
    flags = flag_days(hourly, fit.irradiance_column, 50.0, clear, fit.monthly_pr_ref, fit.longitude_deg)
    pd.testing.assert_series_equal(flags["flagged"], daily["flagged"].reindex(flags.index), check_names=False)
    # an injected outage (zero power at noon for 3 hours on a sunny day) is flagged
    day = daily.index[(~daily["flagged"]) & (daily["measured"] > daily["measured"].median())][0]
    noon = hourly.index[(hourly.index.floor("D") == day.floor("D"))][3:6]
    broken = hourly.copy()
    broken.loc[noon, "p_mw"] = 0.0
    again = flag_days(broken, fit.irradiance_column, 50.0, clear, fit.monthly_pr_ref, fit.longitude_deg)
    assert again.loc[day, "outage"] or again.loc[day, "curtailed"]


def test_geometry_helpers_against_reference_values() -> None:
    # standard atmosphere: 898.7 hPa at 1000 m (ICAO), within 5 m
    assert altitude_from_pressure_m(898.75) == pytest.approx(1000.0, abs=5.0)
    # a symmetric day centred on 04:00 UTC is solar noon at 120 deg E
    index = pd.date_range("2020-06-01", periods=24, freq="h", tz="UTC")
    hour = np.asarray(index.hour) + 0.5
    irr = pd.Series(np.clip(np.cos((hour - 4.0) / 12 * np.pi), 0, None), index=index)
    assert estimate_longitude(irr) == pytest.approx(120.0, abs=0.1)
