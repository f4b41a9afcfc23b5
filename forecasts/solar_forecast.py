"""Solar power forecasts from an issue time, horizons 1-48 h, with P10/P50/P90.

All methods are computed for many issue times at once (a backtest) but each value only uses
observations strictly before its issue time: rolling windows end at ``issue - 1h`` and
climatologies use whole days that ended before the issue. ``tests/forecasts/test_solar_forecast``
changes every observation after an issue time and checks the forecast is unchanged.

Methods (``P`` measured hourly power, ``P_cs`` the plant's clear-sky power from the calibrated
pvlib chain with clear-sky irradiance, known in advance):

smart persistence
    ``k = sum P / sum P_cs`` over the last ``RECENT_H`` hours before the issue with sun up (the
    last such daylight value is carried through the night, at most 24 h); forecast ``k * P_cs``.
    (Pedro & Coimbra 2012, Solar Energy 86, 2017.)
climatology
    Mean of the same UTC hour over the ``CLIM_DAYS`` days before the issue (for a target hour
    more than 24 h ahead, days before the issue day, so nothing later is used).
blend
    ``w_h * smart_persistence + (1 - w_h) * climatology``, ``w_h`` per horizon fitted by least
    squares on the fit period, clipped to [0, 1].
quantiles
    Empirical quantiles, per horizon, of the blend's error divided by clear-sky power on the fit
    period (daylight hours); ``P_q = clip(blend + q_h * P_cs, 0, AC limit)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.scoring import actual_matrix

logger = logging.getLogger(__name__)

RECENT_H = 3
CLIM_DAYS = 30
DAYLIGHT_FRACTION = 0.05
"""Clear-sky power above this fraction of the AC limit counts as sun up."""
QUANTILES = (0.1, 0.5, 0.9)


def _clearsky_index(p_mw: pd.Series, p_clear_mw: pd.Series, limit_mw: float) -> pd.Series:
    """Clear-sky index at each hour from the ``RECENT_H`` daylight hours before it (causal)."""
    day = p_clear_mw > DAYLIGHT_FRACTION * limit_mw
    num = p_mw.where(day).rolling(RECENT_H, min_periods=1).sum().shift(1)
    den = p_clear_mw.where(day & p_mw.notna()).rolling(RECENT_H, min_periods=1).sum().shift(1)
    k = (num / den.where(den > DAYLIGHT_FRACTION * limit_mw)).clip(0.0, 1.5)
    return k.ffill(limit=24).fillna(1.0)


def _climatology(p_mw: pd.Series, days_back: int) -> pd.Series:
    """At each hour t: mean of P at the same UTC hour on days t-days_back .. t-days_back-CLIM_DAYS+1."""
    by_hour = p_mw.groupby(p_mw.index.hour)
    return by_hour.transform(lambda s: s.shift(days_back).rolling(CLIM_DAYS, min_periods=5).mean())


def _take(series: pd.Series, issues_pos: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    values = series.to_numpy(dtype=float)
    target = issues_pos[:, None] + horizons[None, :] - 1
    out = np.full(target.shape, np.nan)
    ok = target < len(values)
    out[ok] = values[target[ok]]
    return out


def base_forecasts(p_mw: pd.Series, p_clear_mw: pd.Series, issues: pd.DatetimeIndex, horizon_h: int,
                   limit_mw: float) -> dict[str, pd.DataFrame]:
    """Smart persistence and climatology matrices (issue x horizon) [MW]."""
    if p_mw.index.tz is None:
        raise ValueError("p_mw has a naive index; give UTC hourly interval starts")
    horizons = np.arange(1, horizon_h + 1)
    pos = p_mw.index.get_indexer(issues)
    if (pos < 0).any():
        raise KeyError(f"issue time {issues[pos < 0][0]} is not on the power series' index")
    k = _clearsky_index(p_mw, p_clear_mw, limit_mw).to_numpy()[pos]
    smart = k[:, None] * _take(p_clear_mw, pos, horizons)
    clim = np.where(horizons[None, :] <= 24, _take(_climatology(p_mw, 1), pos, horizons),
                    _take(_climatology(p_mw, 2), pos, horizons))
    # the targets' clear-sky power bounds both
    cap = _take(p_clear_mw, pos, horizons)
    frame = lambda v: pd.DataFrame(np.clip(v, 0, None), index=issues, columns=list(horizons))  # noqa: E731
    return {"smart_persistence": frame(np.minimum(smart, np.maximum(cap, 0) * 1.5)), "climatology": frame(clim)}


@dataclass(frozen=True)
class BlendModel:
    """Per-horizon blend weights and error quantiles (fitted on the fit period)."""

    weights: np.ndarray
    quantiles: dict[float, np.ndarray]
    limit_mw: float


def fit_blend(p_mw: pd.Series, p_clear_mw: pd.Series, issues: pd.DatetimeIndex, horizon_h: int,
              limit_mw: float) -> BlendModel:
    """Fit blend weights and error quantiles on ``issues`` (the fit period)."""
    base = base_forecasts(p_mw, p_clear_mw, issues, horizon_h, limit_mw)
    actual = actual_matrix(p_mw, issues, np.arange(1, horizon_h + 1)).to_numpy()
    sp, cl = base["smart_persistence"].to_numpy(), base["climatology"].to_numpy()
    clear = actual_matrix(p_clear_mw, issues, np.arange(1, horizon_h + 1)).to_numpy()
    weights = np.zeros(horizon_h)
    quant = {q: np.zeros(horizon_h) for q in QUANTILES}
    for j in range(horizon_h):
        ok = np.isfinite(sp[:, j]) & np.isfinite(cl[:, j]) & np.isfinite(actual[:, j])
        d = sp[ok, j] - cl[ok, j]
        weights[j] = np.clip((d @ (actual[ok, j] - cl[ok, j])) / max(d @ d, 1e-9), 0.0, 1.0)
        blend = weights[j] * sp[:, j] + (1 - weights[j]) * cl[:, j]
        day = ok & (clear[:, j] > DAYLIGHT_FRACTION * limit_mw)
        rel = (actual[day, j] - blend[day]) / clear[day, j]
        for q in QUANTILES:
            quant[q][j] = np.quantile(rel, q) if len(rel) else 0.0
    return BlendModel(weights, quant, limit_mw)


def forecast_matrices(model: BlendModel, p_mw: pd.Series, p_clear_mw: pd.Series,
                      issues: pd.DatetimeIndex) -> dict[str, pd.DataFrame]:
    """All methods and the blend's P10/P50/P90 for ``issues`` [MW] (issue x horizon)."""
    horizon_h = len(model.weights)
    out = base_forecasts(p_mw, p_clear_mw, issues, horizon_h, model.limit_mw)
    blend = model.weights[None, :] * out["smart_persistence"] + (1 - model.weights[None, :]) * out["climatology"]
    out["blend"] = blend
    clear = pd.DataFrame(_take(p_clear_mw, p_mw.index.get_indexer(issues), np.arange(1, horizon_h + 1)),
                         index=issues, columns=blend.columns)
    for q in QUANTILES:
        out[f"p{round(q * 100)}"] = (blend + clear * model.quantiles[q][None, :]).clip(0.0, model.limit_mw)
    return out


def forecast_at(model: BlendModel, p_mw: pd.Series, p_clear_mw: pd.Series, issue_time: pd.Timestamp) -> pd.DataFrame:
    """One issue: columns = methods and quantiles, rows = the forecast hours (UTC starts) [MW]."""
    mats = forecast_matrices(model, p_mw, p_clear_mw, pd.DatetimeIndex([issue_time]))
    index = pd.date_range(issue_time, periods=len(model.weights), freq="h")
    return pd.DataFrame({name: m.iloc[0].to_numpy() for name, m in mats.items()}, index=index)
