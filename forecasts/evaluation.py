"""End-to-end evaluations behind ``codispatch forecast-eval``: any file of the shared layouts.

Solar (State Grid layout): fit on the first complete local calendar year in the file, score on the
next; the pvlib model of measured power (``daily_energy_nmae``, ``hourly_nrmse``, all days and
unflagged days) and the forecast methods by horizon (blend vs smart persistence). The headline
scores are those of the physical model unless ``curtailment_persistence`` is set (export cap
carried forward from earlier days' measurements, :func:`forecasts.solar_calibration.curtailment_caps`);
``models`` always holds both, and ``curtailment_persistence`` says which one the headline is.
Wind (GEFCom layout): fit on the first half of the issues with observed power, score on the rest.

Results are plain dicts, ready for JSON; horizons are keyed ``"1"`` .. ``"48"``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.gefcom import read_gefcom_nwp, read_gefcom_power
from forecasts.quality import DataQualityError
from forecasts.scoring import actual_matrix, scores_by_horizon
from forecasts.solar_calibration import CAP_ARM_DAYS, SolarScore, calibrate, clearsky_power_mw, score_model
from forecasts.solar_forecast import fit_blend, forecast_matrices
from forecasts.stategrid import IRRADIANCE_COLUMNS, UTC_OFFSET_H, read_stategrid, to_hourly
from forecasts.synthetic import QUANTILES, conformal_offsets, pinball_and_coverage
from forecasts.wind_forecast import fit_wind_model, layout, predict, split_time, to_matrix

logger = logging.getLogger(__name__)

HORIZON_H = 48
CONFORMAL_WINDOW_DAYS = 30
"""Days of past errors behind the conformal quantiles scored by forecast-eval (hourly issues)."""
WIND_CONFORMAL_WINDOW_DAYS = 90
"""The same for GEFCom wind, issued only every 12 h (180 past errors per lead)."""


def conformal_scores(forecast: np.ndarray, actual: np.ndarray, scale: np.ndarray, counted: np.ndarray,
                     upper: float, window_rows: int, normaliser: float,
                     lag_rows: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[float, np.ndarray]]:
    """Conformal P10/P50/P90 of (n_issue, H) forecasts from a rolling window of past errors
    (only errors whose target hour ended before the issue), scored on ``counted`` pairs:
    coverage of the P10-P90 band and mean pinball loss per horizon. Returns (table, quantiles)."""
    safe = np.where(scale > 0, scale, 1.0)
    residual = np.where(counted & np.isfinite(actual), (actual - forecast) / safe, np.nan)
    offsets = conformal_offsets(residual[:, :, None], window_rows, QUANTILES, lag_rows)
    values = {q: np.clip(forecast + safe * off[:, :, 0], 0.0, upper) for q, off in offsets.items()}
    return pinball_and_coverage(actual, values, counted, normaliser), values


def _quantile_table(table: pd.DataFrame) -> dict:
    return {"coverage_p10_p90": _by_horizon(table, "coverage_p10_p90"), "pinball": _by_horizon(table, "pinball"),
            "pairs": _by_horizon(table, "n"),
            "coverage_p10_p90_mean": float(np.average(table["coverage_p10_p90"], weights=table["n"]))}


def format_quantile_table(table: pd.DataFrame, title: str) -> str:
    """Fixed-width coverage / pinball table by horizon."""
    lines = [title, f"{'h':>3} {'n':>7} {'P10-P90 cover':>13} {'pinball':>9}"]
    for h, row in table.iterrows():
        lines.append(f"{h:>3} {int(row['n']):>7} {row['coverage_p10_p90']:>13.3f} {row['pinball']:>9.4f}")
    mean = np.average(table["coverage_p10_p90"], weights=table["n"])
    lines.append(f"all {int(table['n'].sum()):>7} {mean:>13.3f} {table['pinball'].mean():>9.4f}")
    return "\n".join(lines)


def _by_horizon(table: pd.DataFrame, column: str) -> dict[str, float]:
    return {str(int(h)): float(v) for h, v in table[column].items()}


def _solar_scores(score: SolarScore) -> dict:
    return {
        "daily_energy_nmae": score.daily_energy_nmae,
        "daily_energy_nmae_unflagged": score.daily_energy_nmae_unflagged,
        "hourly_nrmse": score.hourly_nrmse,
        "hourly_nrmse_unflagged": score.hourly_nrmse_unflagged,
        "days_capped": score.days_capped,
    }


def evaluate_solar(path: str | Path, capacity_mw: float,
                   curtailment_persistence: bool = False) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Calibrate, score and backtest one State Grid plant file. Returns (result, frames for plots).

    ``curtailment_persistence`` picks the headline model (default: the physical model alone); both
    are scored and reported under ``models``.
    """
    frame, log = read_stategrid(path, capacity_mw=capacity_mw)
    hourly = to_hourly(frame)
    local_year = (hourly.index + pd.Timedelta(hours=UTC_OFFSET_H)).year
    years = sorted(set(local_year))
    counts = pd.Series(local_year).value_counts()
    full = [y for y in years if counts.get(y, 0) >= 24 * 360]
    if len(full) < 2:
        raise DataQualityError(
            f"{path}: complete local years {full} (of {years}); need two (fit on the first, score on the next)"
        )
    fit_year, score_year = full[0], full[1]
    fit_rows, score_rows = hourly[local_year == fit_year], hourly[local_year == score_year]
    fit = calibrate(fit_rows, capacity_mw, IRRADIANCE_COLUMNS)
    plain, plain_daily = score_model(fit, score_rows, capacity_mw)
    capped, capped_daily = score_model(fit, score_rows, capacity_mw, curtailment_persistence=True)
    score, daily = (capped, capped_daily) if curtailment_persistence else (plain, plain_daily)
    p_clear = clearsky_power_mw(fit, hourly.index)
    model = fit_blend(hourly["p_mw"], p_clear, fit_rows.index[24 * 31:], HORIZON_H, fit.capacity_ac_mw)
    issues = score_rows.index[: -HORIZON_H]
    mats = forecast_matrices(model, hourly["p_mw"], p_clear, issues)
    actual = actual_matrix(hourly["p_mw"], issues, np.arange(1, HORIZON_H + 1))
    table = scores_by_horizon(mats["blend"], actual, mats["smart_persistence"], capacity_mw)
    clim = scores_by_horizon(mats["climatology"], actual, mats["smart_persistence"], capacity_mw)
    # conformal quantiles: rolling window of past errors, run over both years, scored on the second
    all_issues = hourly.index[24 * 31 : -HORIZON_H]
    all_mats = forecast_matrices(model, hourly["p_mw"], p_clear, all_issues)
    leads = np.arange(1, HORIZON_H + 1)
    clear = actual_matrix(p_clear, all_issues, leads).to_numpy()
    observed = actual_matrix(hourly["p_mw"], all_issues, leads).to_numpy()
    day = np.nan_to_num(clear) > 0.05 * fit.capacity_ac_mw
    in_score = all_issues.isin(issues)
    quantile_table, _ = conformal_scores(all_mats["blend"].to_numpy(), observed, clear, day & in_score[:, None],
                                         fit.capacity_ac_mw, CONFORMAL_WINDOW_DAYS * 24, capacity_mw)
    result = {
        "kind": "solar",
        "file": str(path),
        "capacity_mw": capacity_mw,
        "fit_year": int(fit_year),
        "score_year": int(score_year),
        "curtailment_persistence": bool(curtailment_persistence),
        "model": ("physical model capped by the export ceiling carried forward from earlier days"
                  if curtailment_persistence else "physical model (pvlib chain) alone"),
        "daily_energy_nmae": score.daily_energy_nmae,
        "daily_energy_nmae_unflagged": score.daily_energy_nmae_unflagged,
        "hourly_nrmse": score.hourly_nrmse,
        "hourly_nrmse_unflagged": score.hourly_nrmse_unflagged,
        "models": {"physical": _solar_scores(plain), "curtailment_persistence": _solar_scores(capped)},
        "cap_arm_days": CAP_ARM_DAYS,
        "days_scored": score.days_scored,
        "days_unflagged": score.days_unflagged,
        "flag_counts": score.flag_counts,
        "repairs": log.counts,
        "plant": {k: v for k, v in fit.__dict__.items() if k != "monthly_pr_ref"},
        "forecast_method": "blend of smart persistence and climatology; reference = smart persistence",
        "mae_pu": _by_horizon(table, "mae"),
        "rmse_pu": _by_horizon(table, "rmse"),
        "bias_pu": _by_horizon(table, "bias"),
        "skill_vs_persistence": _by_horizon(table, "skill"),
        "climatology_skill_vs_persistence": _by_horizon(clim, "skill"),
        "quantiles": {"method": f"conformal, rolling {CONFORMAL_WINDOW_DAYS} d of past errors / clear-sky power; "
                                f"daylight hours of {score_year}; pinball in pu of capacity",
                      **_quantile_table(quantile_table)},
    }
    return result, {"daily": daily, "table": table, "quantiles": quantile_table}


def evaluate_wind(power_path: str | Path, farm: int, nwp_path: str | Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Fit and score the NWP model of one GEFCom farm. Returns (result, frames for plots)."""
    power, log = read_gefcom_power(power_path)
    column = f"p_pu_{farm}"
    if column not in power.columns:
        raise DataQualityError(f"--farm {farm}: {power_path} has farms {[c[5:] for c in power.columns]}; pick one")
    rows = layout(power[column], read_gefcom_nwp(nwp_path))
    cut = split_time(rows)
    model = fit_wind_model(rows[rows["issue_time"] < cut])
    scored = predict(model, rows[rows["issue_time"] >= cut])
    actual = to_matrix(scored, "actual")
    reference = to_matrix(scored, "persistence")
    table = scores_by_horizon(to_matrix(scored, "nwp_model"), actual, reference)
    clim = scores_by_horizon(to_matrix(scored, "climatology"), actual, reference)
    # conformal quantiles on a regular 12-hourly grid of issues (holes stay NaN): an error is
    # known at issue i once its target hour ended, ceil(h / 12) issues later
    fitted = predict(model, rows)
    grid = pd.date_range(fitted["issue_time"].min(), fitted["issue_time"].max(), freq="12h")
    f_all = to_matrix(fitted, "nwp_model").reindex(grid).to_numpy()
    a_all = to_matrix(fitted, "actual").reindex(grid).to_numpy()
    held_out = (grid >= cut)[:, None] & np.isfinite(a_all) & np.isfinite(f_all)
    lag_rows = np.ceil(np.arange(1, f_all.shape[1] + 1) / 12.0).astype(int)
    quantile_table, _ = conformal_scores(np.nan_to_num(f_all), a_all, np.ones_like(f_all), held_out, 1.0,
                                         WIND_CONFORMAL_WINDOW_DAYS * 2, 1.0, lag_rows)
    result = {
        "kind": "wind",
        "power_file": str(power_path),
        "nwp_file": str(nwp_path),
        "farm": farm,
        "fit_issues_before": cut.isoformat(),
        "repairs": log.counts,
        "alpha_speed_scale": model.alpha,
        "farm_efficiency": model.eta,
        "mae_pu": _by_horizon(table, "mae"),
        "rmse_pu": _by_horizon(table, "rmse"),
        "bias_pu": _by_horizon(table, "bias"),
        "pairs": _by_horizon(table, "n"),
        "skill_vs_persistence": _by_horizon(table, "skill"),
        "climatology_skill_vs_persistence": _by_horizon(clim, "skill"),
        "quantiles": {"method": f"conformal, rolling {WIND_CONFORMAL_WINDOW_DAYS} d of past errors (12-hourly issues); "
                                "held-out half; pinball in pu of capacity", **_quantile_table(quantile_table)},
    }
    return result, {"table": table, "climatology": clim, "quantiles": quantile_table}


def evaluate_carbon(path: str | Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The carbon blend (weights fitted on Electricity Maps zones' first half-year,
    :mod:`forecasts.error_params`) on one zone file: scores and conformal quantiles by horizon on
    the second half of the file."""
    from forecasts.error_data import carbon_forecasts, carbon_series
    from forecasts.synthetic import carbon_blend_weights

    blend, actual = carbon_forecasts(path, carbon_blend_weights(HORIZON_H))
    half = blend.index[len(carbon_series(path)) // 2 - 24 * 10]
    held = blend.index >= half
    base = blend[held]
    persistence = pd.DataFrame(np.repeat(carbon_series(path).reindex(base.index - pd.Timedelta(hours=1)).to_numpy()[:, None],
                                         HORIZON_H, axis=1), index=base.index, columns=base.columns)
    table = scores_by_horizon(base, actual[held], persistence)
    f, a = blend.to_numpy(), actual.to_numpy()
    counted = held[:, None] & np.isfinite(a) & np.isfinite(f)
    quantile_table, _ = conformal_scores(np.nan_to_num(f), a, np.ones_like(f), counted, np.inf,
                                         CONFORMAL_WINDOW_DAYS * 24, 1.0)
    result = {
        "kind": "carbon", "file": str(path), "scored_from": half.isoformat(),
        "forecast_method": "carbon blend (persistence + daily profile), weights fitted on other data",
        "mae_g_per_kwh": _by_horizon(table, "mae"), "rmse_g_per_kwh": _by_horizon(table, "rmse"),
        "bias_g_per_kwh": _by_horizon(table, "bias"), "skill_vs_persistence": _by_horizon(table, "skill"),
        "quantiles": {"method": f"conformal, rolling {CONFORMAL_WINDOW_DAYS} d of past errors; second half of the "
                                "file; pinball in g/kWh", **_quantile_table(quantile_table)},
    }
    return result, {"table": table, "quantiles": quantile_table}
