"""Degraded modes: the forecast fallback chain and the solver fallback chain, on the default
scenario's real weather (the measurements are the provider's realised values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.cli import main
from control.mpc.solve import SolveResult, SolveStatus
from control.runtime.fallback import fallback_forecast, forecast_problem
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.scenario import forecast_provider, site_carbon_intensity
from control.settings import load_settings
from control.store.repository import utc
from control.store.tables import MeasurementRecord
from forecasts.bundle import ForecastBundle

from .conftest import START

T = pd.Timestamp(START)


@pytest.fixture
def real(runtime_config):
    """Settings, the forecast at T and the realised (measured) values of the 48 hours before T."""
    settings = load_settings(runtime_config)
    index = pd.date_range(T, periods=24, freq="h")
    past = pd.date_range(T - pd.Timedelta(hours=48), periods=48, freq="h")
    provider = forecast_provider(settings, T, past.union(index))
    actual = provider.actual(past)
    measured = pd.concat([pd.DataFrame({"time": past, "site": s, "green_mw": actual.green_mw[s].to_numpy(),
                                        "ci_g_per_kwh": actual.ci_g_per_kwh[s].to_numpy()}) for s in settings.site_names],
                         ignore_index=True)
    return settings, index, provider.forecast(T, len(index)), measured


def test_forecast_checks_accept_the_real_forecast_and_name_each_problem(real) -> None:
    settings, index, bundle, _ = real
    sites = settings.site_names
    assert forecast_problem(bundle, T, index, sites, max_age_h=6) is None
    old = ForecastBundle(T - pd.Timedelta(hours=7), index, bundle.pv_mw, bundle.wind_mw, bundle.ci_g_per_kwh)
    assert forecast_problem(old, T, index, sites, max_age_h=6) == "stale"
    nan = bundle.pv_mw.copy()
    nan.iloc[3, 0] = np.nan
    assert "pv_mw has 1 non-finite" in forecast_problem(ForecastBundle(T, index, nan, bundle.wind_mw, bundle.ci_g_per_kwh),
                                                        T, index, sites, 6)
    negative = bundle.ci_g_per_kwh * -1
    assert "ci_g_per_kwh has values outside" in forecast_problem(
        ForecastBundle(T, index, bundle.pv_mw, bundle.wind_mw, negative), T, index, sites, 6)
    cut = index[:-2]
    short = ForecastBundle(T, cut, bundle.pv_mw.loc[cut], bundle.wind_mw.loc[cut], bundle.ci_g_per_kwh.loc[cut])
    assert "misses 2 of the 24 hours" in forecast_problem(short, T, index, sites, 6)
    lost = ForecastBundle(T, index, bundle.pv_mw, bundle.wind_mw, bundle.ci_g_per_kwh.drop(columns=sites[0]))
    assert f"ci_g_per_kwh has no column for ['{sites[0]}']" in forecast_problem(lost, T, index, sites, 6)


def test_fallback_chain_persistence_then_climatology_then_conservative(real) -> None:
    settings, index, _, measured = real
    sites = settings.site_names
    average = site_carbon_intensity(settings, index)
    persistence = fallback_forecast(measured, T, index, sites, average, climatology_days=7)
    assert persistence.method == "persistence"
    yesterday = measured.pivot(index="time", columns="site", values="green_mw").loc[index - pd.Timedelta(hours=24), sites]
    np.testing.assert_allclose(persistence.green_mw.to_numpy(), yesterday.to_numpy(), rtol=0, atol=1e-12)
    gap = measured[measured["time"] != T - pd.Timedelta(hours=5)]  # one hour of the last day lost
    climatology = fallback_forecast(gap, T, index, sites, average, climatology_days=7)
    assert climatology.method == "climatology"
    wide = measured.pivot(index="time", columns="site", values="green_mw")[sites]
    lost = T - pd.Timedelta(hours=5)
    for at in index:  # each hour of the day: the mean of the days that have it
        days = [t for t in (at - pd.Timedelta(hours=24), at - pd.Timedelta(hours=48)) if t != lost]
        np.testing.assert_allclose(climatology.green_mw.loc[at, sites].to_numpy(), wide.loc[days].mean().to_numpy(),
                                   rtol=0, atol=1e-12)
    nothing = fallback_forecast(measured.iloc[:0], T, index, sites, average, climatology_days=7)
    assert nothing.method == "conservative"
    assert (nothing.green_mw == 0).all().all() and nothing.ci_g_per_kwh.equals(average)


@pytest.fixture
def submitted(runtime_config, first_jobs):
    assert main(["submit", "--config", str(runtime_config), "--at", START, "--file", str(first_jobs)]) == 0
    settings = load_settings(runtime_config)
    return settings, open_store(settings)


def test_stale_forecast_tick_plans_on_stored_measurements(submitted, real, monkeypatch) -> None:
    settings, store = submitted
    _, _, _, measured = real
    store.add_measurements([MeasurementRecord(time=utc(r.time), site=r.site, green_mw=r.green_mw,
                                              ci_g_per_kwh=r.ci_g_per_kwh, source="test_replay", recorded_at=utc(T))
                            for r in measured.itertuples()])

    class Stale:
        def __init__(self, inner) -> None:
            self.inner = inner

        def forecast(self, issue_time, horizon_h):
            b = self.inner.forecast(issue_time, horizon_h)
            return ForecastBundle(issue_time - pd.Timedelta(hours=12), b.index, b.pv_mw, b.wind_mw, b.ci_g_per_kwh)

        def actual(self, index):
            return self.inner.actual(index)

    real_provider = forecast_provider
    monkeypatch.setattr("control.runtime.tick.forecast_provider", lambda *a: Stale(real_provider(*a)))
    result = run_tick(settings, store, make_adapter(settings), T)
    assert result.flags[:2] == ("forecast_stale", "forecast_persistence")
    tick = store.ticks().iloc[0]
    assert tick["flags"].startswith("forecast_stale;forecast_persistence") and tick["status"] == "done"
    assert set(store.forecasts()["method"]) == {"persistence"}


def _failing(calls: list[int], fail_first: int):
    def solve(lp, time_limit_s=60.0, solver="auto", basis=None, return_basis=False):
        calls.append(1)
        if len(calls) <= fail_first:
            return SolveResult(SolveStatus.INFEASIBLE, None, float("nan"), 0.0, 0, "patched: infeasible")
        from control.mpc.solve import solve_lp

        return solve_lp(lp, time_limit_s, solver, basis, return_basis)
    return solve


def test_solver_chain_relaxed_then_last_plan_then_deadline_safe(submitted, monkeypatch) -> None:
    settings, store = submitted
    adapter = make_adapter(settings)
    calls: list[int] = []
    monkeypatch.setattr("control.mpc.step.solve_lp", _failing(calls, fail_first=1))
    first = run_tick(settings, store, adapter, T)
    assert first.flags == ("solver_infeasible", "solver_relaxed") and len(calls) == 2
    plan1 = store.last_plan(utc(T + pd.Timedelta(hours=1)))
    assert plan1, "the relaxed re-solve placed jobs"

    monkeypatch.setattr("control.mpc.step.solve_lp", _failing(calls := [], fail_first=10**6))
    second = run_tick(settings, store, adapter, T + pd.Timedelta(hours=1))
    assert second.flags == ("solver_infeasible", "solver_last_plan")
    plan2 = store.last_plan(utc(T + pd.Timedelta(hours=2)))
    assert plan2 and all(plan1[j] == placed for j, placed in plan2.items())  # a re-checked subset of the last plan
    done = store.jobs_frame().set_index("job_id")
    assert all(done.at[j, "remaining_gpu_h"] >= 0 for j in plan2)

    # no tick within the 3 h before: nothing to carry on, the deadline-safe default
    third = run_tick(settings, store, adapter, T + pd.Timedelta(hours=8))
    assert third.flags == ("solver_infeasible", "solver_deadline_safe")
    ticks = store.ticks().set_index("tick_time")
    assert list(store.ticks()["status"]) == ["done"] * 3
    assert ticks["solver_status"].tolist() == ["optimal", "last_plan", "deadline_safe"]
    assert (store.intents()["status"] == "applied").all()
