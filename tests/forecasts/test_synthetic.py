"""As-issued forecasts from the error process (the default's path): nothing after the issue time
enters the error, the carbon forecast or the quantiles; the target hour's actual is the only
later value used (the stand-in for the NWP's knowledge, see forecasts/synthetic.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.scenario import forecast_provider
from control.settings import load_settings
from forecasts.synthetic import ErrorProcessForecastProvider

H = 48


@pytest.fixture(scope="module")
def parts(default_config):
    settings = load_settings(default_config, {"forecast": {"method": "as_issued", "quantile_window_days": 7}})
    start = pd.Timestamp(settings.scenario.start).tz_convert("UTC")
    provider = forecast_provider(settings, start, pd.date_range(start, periods=24 * 6, freq="h"))
    assert isinstance(provider, ErrorProcessForecastProvider)
    sites = settings.sites
    args = dict(pv_capacity_mw=np.array([s.pv_capacity_mw * 1.5 for s in sites]),
                wind_capacity_mw=np.array([s.wind_capacity_mw for s in sites]),
                lat_deg=np.array([s.lat for s in sites]), lon_deg=np.array([s.lon for s in sites]), horizon_h=H,
                window_days=7)
    return provider, args


def _make(provider, args, pv=None, wind=None, ci=None):
    return ErrorProcessForecastProvider(provider._pv if pv is None else pv, provider._wind if wind is None else wind,
                                        provider._ci if ci is None else ci, provider._pv_cs_frame, **args)


def test_nothing_after_the_issue_time_enters_error_carbon_or_quantiles(parts) -> None:
    provider, args = parts
    base = _make(provider, args)
    index = base._pv.index
    issue = index[24 * 8 + 5]
    before = base.forecast(issue, H)
    after_horizon = index >= issue + pd.Timedelta(hours=H)
    later = index >= issue
    # 1. data after the horizon: nothing changes
    pv, wind, ci = base._pv.copy(), base._wind.copy(), base._ci.copy()
    pv.loc[after_horizon] = 0.0
    wind.loc[after_horizon] = 0.0
    ci.loc[later] = 1e4  # 2. carbon after the issue: the carbon forecast uses none of it
    other = _make(provider, args, pv, wind, ci).forecast(issue, H)
    for name in ("pv_mw", "wind_mw"):
        pd.testing.assert_frame_equal(getattr(before, name), getattr(other, name))
    pd.testing.assert_frame_equal(before.ci_g_per_kwh, other.ci_g_per_kwh)
    for key in before.quantiles:
        if not key.startswith("ci_"):
            pd.testing.assert_frame_equal(before.quantiles[key], other.quantiles[key])
    # 3. supply inside the horizon changes: the error (forecast - actual) and the quantile
    #    offsets stay the same wherever the forecast is not at a bound
    pv, wind = base._pv.copy(), base._wind.copy()
    pv.loc[later] *= 0.8
    wind.loc[later] *= 0.8
    changed = _make(provider, args, pv, wind).forecast(issue, H)
    window = before.index
    for name, new_actual, old_actual, cap in (("wind_mw", wind, base._wind, args["wind_capacity_mw"]),):
        old, new = getattr(before, name), getattr(changed, name)
        inside = (old > 1e-6) & (new > 1e-6) & (old < cap - 1e-6) & (new < cap - 1e-6)
        err_old = (old - old_actual.loc[window])[inside].stack()
        err_new = (new - new_actual.loc[window])[inside].stack()
        assert len(err_old) > 20
        np.testing.assert_allclose(err_old.to_numpy(), err_new.to_numpy(), atol=1e-9)
        spread_old = (before.quantiles[f"{name}_p90"] - old)[inside].stack()
        spread_new = (changed.quantiles[f"{name}_p90"] - new)[inside].stack()
        q_inside = (before.quantiles[f"{name}_p90"] < cap - 1e-6)[inside].stack()
        np.testing.assert_allclose(spread_old[q_inside].to_numpy(), spread_new[q_inside].to_numpy(), atol=1e-9)


def test_forecasts_are_bounded_and_quantiles_ordered(parts) -> None:
    provider, _ = parts
    issue = provider._pv.index[24 * 9]
    bundle = provider.forecast(issue, H)
    assert bundle.method == "as_issued" and bundle.index[0] == issue and len(bundle.index) == H
    assert (bundle.pv_mw >= 0).all().all() and (bundle.wind_mw >= 0).all().all()
    night = provider._pv_cs_frame.loc[bundle.index] <= 0
    actual = provider.actual(bundle.index)
    assert night.to_numpy().sum() > 100  # no clear-sky power, no PV error
    np.testing.assert_allclose(bundle.pv_mw.to_numpy()[night.to_numpy()], actual.pv_mw.to_numpy()[night.to_numpy()])
    for name in ("pv_mw", "wind_mw", "green_mw", "ci_g_per_kwh"):
        p10, p50, p90 = (bundle.quantiles[f"{name}_p{q}"] for q in (10, 50, 90))
        assert (p10 <= p50 + 1e-9).all().all() and (p50 <= p90 + 1e-9).all().all()
    # errors are real errors: not the actual series, and larger a day ahead than an hour ahead
    error = (bundle.wind_mw - actual.wind_mw).abs()
    assert error.to_numpy().sum() > 0


def test_mpc_plans_on_the_configured_green_quantile(parts, default_config) -> None:
    """[mpc] green_quantile = p10 hands the LP the bundle's P10 of green; mean the point forecast;
    a bundle without quantiles (perfect) gives the point forecast either way."""
    from control.fleet import Fleet, FleetState
    from control.mpc import build_inputs
    from control.scenario import grid_from_settings

    provider, _ = parts
    settings = load_settings(default_config)
    issue = provider._pv.index[24 * 9 + 3]
    bundle = provider.forecast(issue, H)
    fleet = Fleet.from_settings(settings)
    jobs = pd.DataFrame(columns=["job_id", "release", "deadline", "work_gpu_h", "remaining_gpu_h", "gpus", "min_gpus",
                                 "priority", "allowed_sites", "site", "checkpoint_gb"])
    state = FleetState(now=issue, fleet=fleet, jobs=jobs, upcoming=jobs)
    limits = grid_from_settings(settings, bundle.index).limits(bundle.index)
    sites = fleet.names
    p10 = build_inputs(state, bundle, limits, green_quantile="p10").green_mw
    mean = build_inputs(state, bundle, limits, green_quantile="mean").green_mw
    np.testing.assert_allclose(p10, bundle.quantiles["green_mw_p10"][sites].to_numpy().T)
    np.testing.assert_allclose(mean, bundle.green_mw[sites].to_numpy().T)
    assert (p10 <= mean + 1e-9).all() and (p10 < mean - 1e-3).any()
    perfect = provider.actual(bundle.index)
    np.testing.assert_allclose(perfect.planning_green_mw("p10"), perfect.green_mw)
    assert settings.mpc.green_quantile == "mean"  # measured best on the default (docs/forecast_errors.md)


def test_share_of_perfect_forecast_cut_and_headline() -> None:
    from control.commands.simulate import PERFECT_REFERENCE, _add_share_of_perfect_forecast_cut, headline

    policies = {"agnostic": {"emissions_tco2": 100.0}, "mpc": {"emissions_tco2": 30.0},
                PERFECT_REFERENCE: {"emissions_tco2": 20.0}}
    _add_share_of_perfect_forecast_cut(policies)
    assert policies["mpc"]["share_of_perfect_forecast_cut"] == pytest.approx(70.0 / 80.0)
    line = headline({"days": 14, "forecast": "as_issued", "policies": policies})
    assert line["share_of_perfect_forecast_cut"] == pytest.approx(0.875) and line["deadline_misses"] is None


def test_conformal_quantiles_use_only_errors_whose_target_ended_before_the_issue() -> None:
    from forecasts.synthetic import conformal_offsets

    rng = np.random.default_rng(5)
    residual = rng.standard_normal((400, 6, 2))
    issue = 300
    before = conformal_offsets(residual, window=100)
    changed = residual.copy()
    for k in range(6):  # lead index k of issue i' targets hour i' + k, known at i only if i' + k < i
        changed[issue - k :, k, :] = 50.0
    after = conformal_offsets(changed, window=100)
    for q in before:
        np.testing.assert_array_equal(before[q][: issue + 1], after[q][: issue + 1])
    # and the last known error does count
    changed[issue - 1, 0, :] = 1e3
    assert not np.array_equal(conformal_offsets(changed, window=100)[0.9][issue], before[0.9][issue])
    # 12-hourly issues: lead h is known ceil(h / 12) issues later
    lag = np.ceil(np.arange(1, 7) * 5 / 12.0).astype(int)
    later = conformal_offsets(residual, window=100, lag_rows=lag)
    assert np.isnan(later[0.5][: 24 + lag[-1] - 1, -1]).all()
