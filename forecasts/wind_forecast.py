"""Wind power forecasts from NWP as issued (GEFCom 2012), against persistence and climatology.

For each issue time ``t0`` (every 12 h) and horizon ``h`` = 1..48 the forecast of the power in the
hour starting ``t0 + (h - 1) h`` uses only: the NWP issued at ``t0`` for that hour, and the last
power observed at ``t0`` (interval starting ``t0 - 1h``, see :mod:`forecasts.gefcom`).

Model
-----
1. Physical curve: NWP 10 m speed -> hub height (log law) -> windpowerlib power curve of a
   library turbine -> per-unit, times a farm efficiency; the speed scale ``alpha`` and
   efficiency ``eta`` are fitted on the fit period (``alpha`` absorbs the NWP's speed bias).
2. Empirical curve: mean fit-period power in bins of NWP speed (1 m/s) x direction (8 sectors),
   shrunk towards the physical curve where a bin has few samples (``SHRINK_N`` pseudo-counts).
3. Per horizon, least squares over the fit period on ``[1, persistence, smoothed curve, previous
   run's curve]``, clipped to [0, 1]: the smoothed curve is the empirical curve averaged over
   the 5 valid hours around the target (same issue; timing errors of the NWP), the previous run's
   curve is the one issued 12 h earlier for the same hour (both known at ``t0``). The weight on
   persistence fades with lead time by itself.

References
----------
Hong, T., Pinson, P., Fan, S. (2014). Global Energy Forecasting Competition 2012. Int. J.
Forecasting 30(2), 357-363.
Giebel, G. et al. (2011). The state of the art in short-term prediction of wind power. ANEMOS.plus.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.errors import ForecastInputError
from forecasts.wind import hub_wind_speed_m_per_s, turbine_curve

logger = logging.getLogger(__name__)

TURBINE = "E-82/2300"
HUB_HEIGHT_M = 80.0
ROUGHNESS_M = 0.1
SPEED_BIN_M_PER_S = 1.0
N_SECTORS = 8
SHRINK_N = 20.0
HORIZONS = np.arange(1, 49)


def physical_curve_pu(ws_10m: np.ndarray, alpha: float, eta: float) -> np.ndarray:
    """Per-unit farm power from 10 m NWP speed: log law to hub, windpowerlib curve, efficiency."""
    nominal_w, curve = turbine_curve(TURBINE, HUB_HEIGHT_M)
    hub = hub_wind_speed_m_per_s(pd.Series(alpha * np.asarray(ws_10m, float)), HUB_HEIGHT_M, ROUGHNESS_M)
    per_unit = np.interp(hub.to_numpy(), curve["wind_speed"].to_numpy(), curve["value"].to_numpy() / nominal_w,
                         left=0.0, right=0.0)
    return eta * np.clip(per_unit, 0.0, 1.0)


def _sector(direction_deg: np.ndarray) -> np.ndarray:
    return (np.floor(((np.asarray(direction_deg) + 360.0 / N_SECTORS / 2) % 360) / (360.0 / N_SECTORS))).astype(int)


def layout(power_pu: pd.Series, nwp: pd.DataFrame) -> pd.DataFrame:
    """One row per (issue, horizon): NWP, persistence (last power at issue) and the actual power."""
    frame = nwp[["issue_time", "horizon_h", "valid_start", "wind_speed_10m_m_per_s", "wind_dir_10m_deg"]].copy()
    frame["persistence"] = power_pu.reindex(frame["issue_time"] - pd.Timedelta(hours=1)).to_numpy()
    frame["actual"] = power_pu.reindex(frame["valid_start"]).to_numpy()
    return frame


@dataclass(frozen=True)
class WindModel:
    """Fitted NWP model of one farm."""

    alpha: float
    eta: float
    table: np.ndarray
    """Empirical curve, (speed bin, sector) -> per-unit power."""
    coefficients: np.ndarray
    """Per horizon 1..48: intercept, persistence, smoothed curve, previous run's curve weights."""
    climatology_pu: float


def _empirical(model_alpha: float, model_eta: float, table: np.ndarray, ws: np.ndarray, wd: np.ndarray) -> np.ndarray:
    bins = np.clip((np.asarray(ws) / SPEED_BIN_M_PER_S).astype(int), 0, table.shape[0] - 1)
    return table[bins, _sector(wd)]


def fit_wind_model(rows: pd.DataFrame) -> WindModel:
    """Fit on ``layout`` rows of the fit period (rows without actual power are skipped)."""
    fit = rows.dropna(subset=["actual", "wind_speed_10m_m_per_s"])
    if len(fit) < 1000:
        raise ForecastInputError(f"only {len(fit)} forecast rows with observed power in the fit period; need >= 1000")
    ws, wd, y = fit["wind_speed_10m_m_per_s"].to_numpy(), fit["wind_dir_10m_deg"].to_numpy(), fit["actual"].to_numpy()
    best = (np.inf, 1.0, 1.0)
    for alpha in np.arange(0.6, 2.01, 0.05):
        shape = physical_curve_pu(ws, alpha, 1.0)
        eta = float(np.clip((shape @ y) / max(shape @ shape, 1e-9), 0.3, 1.0))
        sse = float(np.sum((eta * shape - y) ** 2))
        if sse < best[0]:
            best = (sse, float(alpha), eta)
    _, alpha, eta = best
    n_bins = int(30 / SPEED_BIN_M_PER_S) + 1
    centres = (np.arange(n_bins) + 0.5) * SPEED_BIN_M_PER_S
    prior = physical_curve_pu(centres, alpha, eta)
    bins = np.clip((ws / SPEED_BIN_M_PER_S).astype(int), 0, n_bins - 1)
    sectors = _sector(wd)
    sums = np.zeros((n_bins, N_SECTORS))
    counts = np.zeros((n_bins, N_SECTORS))
    np.add.at(sums, (bins, sectors), y)
    np.add.at(counts, (bins, sectors), 1.0)
    table = (sums + SHRINK_N * prior[:, None]) / (counts + SHRINK_N)
    partial = WindModel(alpha, eta, table, np.zeros((len(HORIZONS), 4)), float(np.mean(y)))
    features = _features(partial, rows).dropna(subset=["actual", "persistence"])
    coefficients = np.zeros((len(HORIZONS), 4))
    for j, h in enumerate(HORIZONS):
        sel = features[features["horizon_h"] == h]
        coefficients[j] = np.linalg.lstsq(_design(sel), sel["actual"].to_numpy(), rcond=None)[0]
    return WindModel(alpha, eta, table, coefficients, float(np.mean(y)))


def _design(rows: pd.DataFrame) -> np.ndarray:
    return np.column_stack([np.ones(len(rows)), rows["persistence"], rows["smooth"], rows["previous_run"]])


def _features(model: WindModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by (issue, horizon) with ``curve``, ``smooth`` and ``previous_run`` columns."""
    out = rows.sort_values(["issue_time", "horizon_h"]).copy()
    out["curve"] = _empirical(model.alpha, model.eta, model.table, out["wind_speed_10m_m_per_s"].to_numpy(),
                              out["wind_dir_10m_deg"].to_numpy())
    out["smooth"] = out.groupby("issue_time")["curve"].transform(
        lambda s: s.rolling(5, center=True, min_periods=1).mean())
    earlier = out.set_index(["issue_time", "valid_start"])["curve"]
    earlier.index = pd.MultiIndex.from_arrays([earlier.index.get_level_values(0) + pd.Timedelta(hours=12),
                                               earlier.index.get_level_values(1)])
    earlier = earlier[~earlier.index.duplicated()]
    previous = earlier.reindex(pd.MultiIndex.from_arrays([out["issue_time"], out["valid_start"]])).to_numpy()
    out["previous_run"] = np.where(np.isfinite(previous), previous, out["smooth"].to_numpy())
    return out


def predict(model: WindModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``nwp_model``, ``physical``, ``persistence`` and ``climatology`` forecasts [pu] to ``rows``.

    Where the power at the issue time is unknown the model falls back to the smoothed curve.
    """
    out = _features(model, rows)
    coef = model.coefficients[out["horizon_h"].to_numpy() - 1]
    with_p = np.einsum("ij,ij->i", coef, _design(out))
    has_p = np.isfinite(out["persistence"].to_numpy())
    out["nwp_model"] = np.clip(np.where(has_p, with_p, out["smooth"].to_numpy()), 0.0, 1.0)
    out["physical"] = physical_curve_pu(out["wind_speed_10m_m_per_s"].to_numpy(), model.alpha, model.eta)
    out["climatology"] = model.climatology_pu
    return out


def to_matrix(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """Issue x horizon matrix of one column of :func:`layout` / :func:`predict` rows."""
    return rows.pivot(index="issue_time", columns="horizon_h", values=column).reindex(columns=HORIZONS)


def split_time(rows: pd.DataFrame, fraction: float = 0.5) -> pd.Timestamp:
    """The issue time that splits the rows with observed power into fit (before) and score (after)."""
    observed = rows.dropna(subset=["actual"])["issue_time"].sort_values()
    return observed.iloc[int(len(observed) * fraction)]
