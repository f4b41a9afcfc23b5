"""As-issued forecasts on the default scenario's real weather: no look-ahead, and skill where
persistence should have it (short lead times)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.scenario import forecast_provider
from control.settings import load_settings


@pytest.fixture(scope="module")
def provider(default_config):
    settings = load_settings(default_config, {"forecast": {"method": "persistence"}})
    start = pd.Timestamp(settings.scenario.start).tz_convert("UTC")
    return forecast_provider(settings, start, pd.date_range(start, periods=24 * 12, freq="h"))


def test_changing_anything_after_the_issue_time_changes_nothing(provider) -> None:
    issue = provider._pv.index[24 * 9 + 5]
    before = provider.forecast(issue, 48)
    later = provider._pv.index >= issue
    saved = provider._pv.copy(), provider._wind.copy(), provider._ci.copy()
    try:
        provider._pv.loc[later] = 999.0
        provider._wind.loc[later] = -5.0
        provider._ci.loc[later] = 1e6
        after = provider.forecast(issue, 48)
    finally:
        provider._pv, provider._wind, provider._ci = saved
    for name in ("pv_mw", "wind_mw", "ci_g_per_kwh"):
        pd.testing.assert_frame_equal(getattr(before, name), getattr(after, name))
    # and changing the last observation before it does change the forecast
    provider._wind.loc[issue - pd.Timedelta(hours=1)] += 1.0
    try:
        assert not provider.forecast(issue, 48).wind_mw.equals(before.wind_mw)
    finally:
        provider._wind = saved[1]


def test_forecasts_are_physical_and_issued_when_asked(provider) -> None:
    issue = provider._pv.index[24 * 8]
    bundle = provider.forecast(issue, 48)
    assert bundle.issue_time == issue and bundle.index[0] == issue and len(bundle.index) == 48
    assert (bundle.pv_mw >= 0).all().all() and (bundle.wind_mw >= 0).all().all()
    assert (bundle.pv_mw <= provider._pv_cs.loc[bundle.index] * 1.2 + 1e-9).all().all()
    assert bundle.method == "persistence"


def test_persistence_beats_its_own_climatology_one_hour_ahead(provider) -> None:
    """Lead 1 h over four days of issue times: smart persistence has lower error than the
    clear-sky-index climatology alone (PV) and the recent mean alone (wind)."""
    issues = provider._pv.index[24 * 8 : 24 * 12]
    rows = []
    for issue in issues:
        f = provider.forecast(issue, 1)
        past = provider._pv.index[(provider._pv.index < issue) & (provider._pv.index >= issue - pd.Timedelta(days=7))]
        k_clim = provider._pv.loc[past].sum() / provider._pv_cs.loc[past].sum().where(lambda s: s > 0)
        rows.append({
            "pv_err": (f.pv_mw.iloc[0] - provider._pv.loc[issue]).abs().sum(),
            "pv_clim_err": (provider._pv_cs.loc[issue] * k_clim.fillna(1.0) - provider._pv.loc[issue]).abs().sum(),
            "wind_err": (f.wind_mw.iloc[0] - provider._wind.loc[issue]).abs().sum(),
            "wind_mean_err": (provider._wind.loc[past].mean() - provider._wind.loc[issue]).abs().sum(),
        })
    errors = pd.DataFrame(rows).mean()
    print(errors.round(3).to_dict())
    assert errors["pv_err"] < errors["pv_clim_err"]
    assert errors["wind_err"] < 0.8 * errors["wind_mean_err"]
    assert np.isfinite(errors).all()
