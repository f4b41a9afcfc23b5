"""Real forecast errors behind the error process (:mod:`forecasts.error_process`).

wind
    GEFCom 2012 farms 1-4: the NWP model of :mod:`forecasts.wind_forecast` fitted on the first
    half of each farm's record, its errors on the second half (issues every 12 h, leads 1-48).
pv
    State Grid plants 1 and 2: the calibrated pvlib chain and the blend of
    :mod:`forecasts.solar_forecast` fitted on 2019, its errors in 2020 (hourly issues, leads 1-48).
carbon
    Electricity Maps zones: the weights of the carbon blend (:mod:`forecasts.carbon_forecast`)
    fitted on the first half of 2021, pooled over the zones.

Everything is in units of the plant's capacity (wind, PV) so plants of any size pool.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.carbon_electricitymaps import read_electricitymaps
from forecasts.carbon_forecast import base_forecasts as carbon_base, fit_blend_weights
from forecasts.error_process import RealErrors
from forecasts.gefcom import read_gefcom_nwp, read_gefcom_power
from forecasts.scoring import actual_matrix
from forecasts.solar_calibration import calibrate, clearsky_power_mw
from forecasts.solar_forecast import DAYLIGHT_FRACTION, fit_blend, forecast_matrices
from forecasts.stategrid import IRRADIANCE_COLUMNS, UTC_OFFSET_H, read_stategrid, to_hourly
from forecasts.wind_forecast import fit_wind_model, layout, predict, split_time, to_matrix

logger = logging.getLogger(__name__)

HORIZON_H = 48
STATEGRID_PLANTS = (("solar_site1_50MW.csv.gz", 50.0), ("solar_site2_130MW.csv.gz", 130.0))


def wind_forecasts(gefcom_dir: str | Path, farm: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(forecast, actual) matrices [pu] of one GEFCom farm's NWP model on its held-out half."""
    gefcom_dir = Path(gefcom_dir)
    power, _ = read_gefcom_power(gefcom_dir / "train_wp1-4.csv.gz")
    rows = layout(power[f"p_pu_{farm}"], read_gefcom_nwp(gefcom_dir / f"windforecasts_wf{farm}.csv.gz"))
    cut = split_time(rows)
    model = fit_wind_model(rows[rows["issue_time"] < cut])
    scored = predict(model, rows[rows["issue_time"] >= cut])
    return to_matrix(scored, "nwp_model"), to_matrix(scored, "actual")


def wind_real_errors(gefcom_dir: str | Path, farms: tuple[int, ...] = (1, 2, 3, 4)) -> RealErrors:
    issues, actual, error, scale, upper, mask = [], [], [], [], [], []
    for farm in farms:
        forecast, observed = wind_forecasts(gefcom_dir, farm)
        ok = observed.notna().all(axis=1) & forecast.notna().all(axis=1)
        f, a = forecast[ok].to_numpy(), observed[ok].to_numpy()
        # keep the 12-hourly cadence: the issues form a regular grid with holes
        issues.append(forecast.index[ok])
        actual.append(a)
        error.append(f - a)
        scale.append(np.ones_like(a))
        upper.append(np.ones_like(a))
        mask.append(np.ones_like(a, dtype=bool))
    return RealErrors("wind", issues, actual, error, scale, upper, 12, mask)


def solar_forecasts(path: str | Path, capacity_mw: float) -> dict[str, pd.DataFrame]:
    """Blend forecast, actual and clear-sky matrices [MW] of one State Grid plant in its second
    full local year (fitted on the first), hourly issues; and the AC limit in ``attrs``."""
    frame, _ = read_stategrid(path, capacity_mw=capacity_mw)
    hourly = to_hourly(frame)
    local_year = (hourly.index + pd.Timedelta(hours=UTC_OFFSET_H)).year
    counts = pd.Series(local_year).value_counts()
    full = sorted(y for y in set(local_year) if counts.get(y, 0) >= 24 * 360)
    fit_rows, score_rows = hourly[local_year == full[0]], hourly[local_year == full[1]]
    fit = calibrate(fit_rows, capacity_mw, IRRADIANCE_COLUMNS)
    p_clear = clearsky_power_mw(fit, hourly.index)
    model = fit_blend(hourly["p_mw"], p_clear, fit_rows.index[24 * 31:], HORIZON_H, fit.capacity_ac_mw)
    issues = score_rows.index[:-HORIZON_H]
    mats = forecast_matrices(model, hourly["p_mw"], p_clear, issues)
    leads = np.arange(1, HORIZON_H + 1)
    out = {"forecast": mats["blend"], "actual": actual_matrix(hourly["p_mw"], issues, leads),
           "clear": actual_matrix(p_clear, issues, leads), **{q: mats[q] for q in ("p10", "p50", "p90")}}
    out["forecast"].attrs["limit_mw"] = fit.capacity_ac_mw
    return out


def solar_real_errors(stategrid_dir: str | Path) -> RealErrors:
    issues, actual, error, scale, upper, mask = [], [], [], [], [], []
    for name, capacity in STATEGRID_PLANTS:
        mats = solar_forecasts(Path(stategrid_dir) / name, capacity)
        f, a, c = (mats[k].to_numpy() / capacity for k in ("forecast", "actual", "clear"))
        ok = np.isfinite(f).all(axis=1) & np.isfinite(a).all(axis=1)
        limit = mats["forecast"].attrs["limit_mw"] / capacity
        issues.append(mats["forecast"].index[ok])
        actual.append(a[ok])
        error.append(f[ok] - a[ok])
        scale.append(np.clip(c[ok], 0.0, None))
        upper.append(np.full_like(a[ok], limit))
        mask.append(c[ok] > DAYLIGHT_FRACTION * limit)
    return RealErrors("pv", issues, actual, error, scale, upper, 1, mask)


def carbon_series(path: str | Path) -> pd.Series:
    """Direct intensity of one Electricity Maps zone [g/kWh]."""
    frame, _ = read_electricitymaps(path)
    return frame["ci_direct_g_per_kwh"]


def carbon_blend_weights(zone_files: list[Path], horizon_h: int = HORIZON_H) -> np.ndarray:
    """Per-horizon persistence weight of the carbon blend, the mean over zones of the weights
    fitted on each zone's first half-year."""
    weights = []
    for path in zone_files:
        ci = carbon_series(path)
        issues = ci.index[24 * 10 : len(ci) // 2]
        weights.append(fit_blend_weights(ci, issues, horizon_h))
    return np.mean(weights, axis=0)


def carbon_forecasts(path: str | Path, weights: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(blend, actual) matrices [g/kWh] of one zone over its whole year (issues after 10 days)."""
    ci = carbon_series(path)
    issues = ci.index[24 * 10 : -len(weights)]
    base = carbon_base(ci, issues, len(weights))
    blend = weights[None, :] * base["persistence"] + (1 - weights[None, :]) * base["daily_profile"]
    return blend, actual_matrix(ci, issues, np.arange(1, len(weights) + 1))
