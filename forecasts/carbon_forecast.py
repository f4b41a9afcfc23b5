"""As-issued forecasts of hourly grid carbon intensity (e.g. Electricity Maps zones).

For an issue time ``t0`` and horizon ``h`` (hour starting ``t0 + (h - 1) h``), using only values
observed before ``t0``:

persistence
    the last observed hour (``t0 - 1h``).
daily profile
    mean of the same UTC hour over the ``PROFILE_DAYS`` most recent days that are entirely
    observed for that hour (for ``h > 24``, from the day before the issue day back).
blend
    ``w_h * persistence + (1 - w_h) * daily profile``; ``w_h`` fitted per horizon by least squares
    on the fit period, clipped to [0, 1].
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from forecasts.scoring import actual_matrix

logger = logging.getLogger(__name__)

PROFILE_DAYS = 7


def _profile(ci: pd.Series, days_back: int) -> pd.Series:
    by_hour = ci.groupby(ci.index.hour)
    return by_hour.transform(lambda s: s.shift(days_back).rolling(PROFILE_DAYS, min_periods=1).mean())


def base_forecasts(ci: pd.Series, issues: pd.DatetimeIndex, horizon_h: int) -> dict[str, pd.DataFrame]:
    """Persistence and daily-profile matrices (issue x horizon) [g/kWh]."""
    if ci.index.tz is None:
        raise ValueError("ci has a naive index; give UTC hourly interval starts")
    horizons = np.arange(1, horizon_h + 1)
    pos = ci.index.get_indexer(issues)
    if (pos < 0).any() or (pos < 1).any():
        raise KeyError(f"issue times must be on the series' index and after its first hour; got {issues[0]}")
    values = ci.to_numpy(float)
    persistence = np.repeat(values[pos - 1][:, None], horizon_h, axis=1)
    target = pos[:, None] + horizons[None, :] - 1
    ok = target < len(values)
    profiles = {}
    for days_back in (1, 2):
        p = _profile(ci, days_back).to_numpy()
        m = np.full(target.shape, np.nan)
        m[ok] = p[target[ok]]
        profiles[days_back] = m
    # a target hour h ahead is observed 24 h earlier only if h <= 24
    profile = np.where(horizons[None, :] <= 24, profiles[1], profiles[2])
    frame = lambda v: pd.DataFrame(v, index=issues, columns=list(horizons))  # noqa: E731
    return {"persistence": frame(persistence), "daily_profile": frame(profile)}


def fit_blend_weights(ci: pd.Series, issues: pd.DatetimeIndex, horizon_h: int) -> np.ndarray:
    """Per-horizon weight on persistence, fitted on ``issues``."""
    base = base_forecasts(ci, issues, horizon_h)
    actual = actual_matrix(ci, issues, np.arange(1, horizon_h + 1)).to_numpy()
    p, d = base["persistence"].to_numpy(), base["daily_profile"].to_numpy()
    weights = np.zeros(horizon_h)
    for j in range(horizon_h):
        ok = np.isfinite(p[:, j]) & np.isfinite(d[:, j]) & np.isfinite(actual[:, j])
        diff = p[ok, j] - d[ok, j]
        weights[j] = np.clip(diff @ (actual[ok, j] - d[ok, j]) / max(diff @ diff, 1e-9), 0.0, 1.0)
    return weights


def forecast_matrices(ci: pd.Series, issues: pd.DatetimeIndex, weights: np.ndarray) -> dict[str, pd.DataFrame]:
    """Persistence, daily profile and blend for ``issues`` [g/kWh]."""
    out = base_forecasts(ci, issues, len(weights))
    out["blend"] = weights[None, :] * out["persistence"] + (1 - weights[None, :]) * out["daily_profile"]
    return out
