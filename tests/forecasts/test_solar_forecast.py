"""Solar forecasts on the real State Grid site 1: no look-ahead, skill, calibrated quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.scoring import actual_matrix, scores_by_horizon
from forecasts.solar_calibration import calibrate, clearsky_power_mw
from forecasts.solar_forecast import fit_blend, forecast_at, forecast_matrices
from forecasts.stategrid import IRRADIANCE_COLUMNS, read_stategrid, to_hourly

CAPACITY_MW = 50.0


@pytest.fixture(scope="module")
def setup(shared_data):
    frame, _ = read_stategrid(shared_data / "solar/stategrid/solar_site1_50MW.csv.gz", capacity_mw=CAPACITY_MW)
    hourly = to_hourly(frame)
    fit = calibrate(hourly.loc["2019"], CAPACITY_MW, IRRADIANCE_COLUMNS)
    p_clear = clearsky_power_mw(fit, hourly.index)
    p = hourly["p_mw"]
    model = fit_blend(p, p_clear, hourly.loc["2019-02":"2019"].index, 48, fit.capacity_ac_mw)
    return p, p_clear, model


def test_changing_any_observation_after_the_issue_time_leaves_the_forecast_unchanged(setup) -> None:
    p, p_clear, model = setup
    rng = np.random.default_rng(7)
    for issue in [pd.Timestamp("2020-03-10 02:00", tz="UTC"), pd.Timestamp("2020-07-01 13:00", tz="UTC")]:
        before = forecast_at(model, p, p_clear, issue)
        changed = p.copy()
        later = changed.index >= issue
        changed[later] = rng.uniform(0, CAPACITY_MW, later.sum())  # every later observation
        changed[changed.index >= issue + pd.Timedelta(days=30)] = np.nan
        after = forecast_at(model, changed, p_clear, issue)
        pd.testing.assert_frame_equal(before, after)
        # while the last observation before the issue does matter (the test can fail)
        nudged = p.copy()
        nudged[issue - pd.Timedelta(hours=1)] += 5.0
        nudged[issue - pd.Timedelta(hours=2)] += 5.0
        nudged[issue - pd.Timedelta(days=1)] += 5.0
        assert not forecast_at(model, nudged, p_clear, issue).equals(before)


def test_backtest_matrix_equals_single_issue_forecast(setup) -> None:
    p, p_clear, model = setup
    issues = pd.date_range("2020-05-01", periods=30, freq="7h", tz="UTC")
    mats = forecast_matrices(model, p, p_clear, issues)
    one = forecast_at(model, p, p_clear, issues[11])
    np.testing.assert_allclose(mats["blend"].iloc[11].to_numpy(), one["blend"].to_numpy())


def test_blend_skill_on_2020_and_quantile_coverage(setup) -> None:
    p, p_clear, model = setup
    issues = p.loc["2020"].index[:-48]
    mats = forecast_matrices(model, p, p_clear, issues)
    actual = actual_matrix(p, issues, np.arange(1, 49))
    vs_sp = scores_by_horizon(mats["blend"], actual, mats["smart_persistence"], CAPACITY_MW)
    vs_clim = scores_by_horizon(mats["blend"], actual, mats["climatology"], CAPACITY_MW)
    print(vs_sp.iloc[[0, 5, 23, 47]])
    # measured 2020: skill vs smart persistence 0.25 at 6 h, 0.16-0.17 at 24-48 h; vs climatology > 0.3 at 1 h
    assert (vs_sp.loc[6:48, "skill"] > 0.1).all()
    assert vs_clim.loc[1, "skill"] > 0.3
    assert (vs_clim["skill"] > -0.02).all()  # never clearly worse than either ingredient
    day = actual_matrix(p_clear, issues, np.arange(1, 49)).to_numpy() > 0.05 * model.limit_mw
    a = actual.to_numpy()
    inside = (a >= mats["p10"].to_numpy() - 1e-9) & (a <= mats["p90"].to_numpy() + 1e-9)
    coverage = inside[day & np.isfinite(a)].mean()
    assert 0.7 <= coverage <= 0.9, coverage  # nominal 0.8
    assert (mats["p10"] <= mats["p90"] + 1e-9).all().all()
