"""As-issued forecasts where no NWP archive exists: actual series + the fitted error process.

PV and wind
    ``forecast = clip(actual + e, 0, capacity)``, ``e`` from :mod:`forecasts.error_process` with the
    parameters fitted on real forecast errors (:mod:`forecasts.error_params`: GEFCom 2012 NWP wind
    errors, State Grid solar errors). The target hour's actual value stands in for what an NWP
    model knows about it; the error's innovations are those of issue hours up to the issue, so
    the error never depends on anything later (``tests/forecasts/test_synthetic.py``).
Carbon intensity
    The carbon blend of :mod:`forecasts.carbon_forecast` on the observed series (persistence
    blended into the daily profile of the last days, weights fitted on Electricity Maps zones):
    a real forecaster using only hours before the issue. With constant regional factors it
    equals the actual value.
Quantiles (P10/P50/P90 of PV, wind, green = PV + wind, carbon)
    Split-conformal on a rolling window of past errors, per lead and site: at issue ``t0`` the
    window holds the errors of forecasts whose target hour ended before ``t0`` (issued at most
    ``window_days`` earlier); ``P_q = forecast + scale * quantile_q((actual - forecast) / scale)``,
    ``scale`` = clear-sky power for PV (night: no spread), 1 otherwise; clipped to the bounds.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from forecasts.bundle import ForecastBundle
from forecasts.carbon_forecast import base_forecasts as carbon_base
from forecasts.error_params import FITTED
from forecasts.error_process import ErrorProcess, errors, site_correlation
from forecasts.provider import PerfectForecastProvider

logger = logging.getLogger(__name__)

QUANTILES = (0.1, 0.5, 0.9)
DAYLIGHT_FRACTION = 0.05
"""Clear-sky power above this fraction of the plant's capacity counts as sun up (PV quantiles)."""
MIN_WINDOW_ERRORS = 24
WIND_SEED, PV_SEED = 17_001, 17_002


def fitted_process(kind: str) -> ErrorProcess:
    """The fitted :class:`ErrorProcess` of ``"wind"`` or ``"pv"``."""
    return ErrorProcess.from_dict(FITTED[kind])


def carbon_blend_weights(horizon_h: int) -> np.ndarray:
    """Fitted per-lead persistence weights of the carbon blend (the last one repeats past 48 h)."""
    weights = np.asarray(FITTED["carbon_blend_weights"], dtype=float)
    return np.concatenate([weights, np.full(max(horizon_h - len(weights), 0), weights[-1])])[:horizon_h]


def _gather(values: np.ndarray, issues_pos: np.ndarray, horizon_h: int) -> np.ndarray:
    """(n_issue, H, S) values at the target hours of each issue."""
    return values[issues_pos[:, None] + np.arange(horizon_h)[None, :]]


def conformal_offsets(residual: np.ndarray, window: int, quantiles: tuple[float, ...] = QUANTILES,
                      lag_rows: np.ndarray | None = None) -> dict[float, np.ndarray]:
    """Rolling split-conformal quantiles of ``residual`` (n_issue, H, S; NaN = not counted).

    Rows are issues at a regular cadence (hourly unless ``lag_rows`` says otherwise). At issue
    ``i`` and lead index ``k`` only residuals of rows ``i - window - lag .. i - lag - 1`` are used,
    ``lag = lag_rows[k]`` (default ``k + 1``: hourly issues whose target hour ended before issue
    ``i``). Returns quantile -> (n_issue, H, S), NaN where fewer than ``MIN_WINDOW_ERRORS``
    residuals are known."""
    n_issue, horizon_h, n_site = residual.shape
    lags = np.arange(1, horizon_h + 1) if lag_rows is None else np.asarray(lag_rows, int)
    out = {q: np.full(residual.shape, np.nan) for q in quantiles}
    for k in range(horizon_h):
        rolling = pd.DataFrame(residual[:, k, :]).rolling(window, min_periods=MIN_WINDOW_ERRORS)
        for q in quantiles:
            out[q][:, k, :] = rolling.quantile(q).shift(int(lags[k])).to_numpy()  # only what is known
    return out


def pinball_and_coverage(actual: np.ndarray, quantile_values: dict[float, np.ndarray], counted: np.ndarray,
                         normaliser: float = 1.0) -> pd.DataFrame:
    """Per lead (columns of the (n_issue, H) arrays): P10-P90 coverage, mean pinball loss over
    the quantiles (divided by ``normaliser``) and the number of pairs, on ``counted`` pairs with
    all values finite."""
    rows = {}
    lows, highs = quantile_values[min(quantile_values)], quantile_values[max(quantile_values)]
    for k in range(actual.shape[1]):
        ok = counted[:, k] & np.isfinite(actual[:, k])
        for values in quantile_values.values():
            ok &= np.isfinite(values[:, k])
        y = actual[ok, k]
        loss = [np.mean(np.maximum(q * (y - v[ok, k]), (q - 1.0) * (y - v[ok, k]))) for q, v in quantile_values.items()]
        inside = (y >= lows[ok, k]) & (y <= highs[ok, k])
        rows[k + 1] = {"n": int(ok.sum()), "coverage_p10_p90": float(inside.mean()) if ok.any() else np.nan,
                       "pinball": float(np.mean(loss)) / normaliser if ok.any() else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("horizon_h")


class ErrorProcessForecastProvider(PerfectForecastProvider):
    """As-issued forecasts from the actual series and the fitted error process (module docstring).

    Parameters
    ----------
    pv_mw, wind_mw, ci_g_per_kwh
        Actual series, hourly UTC index x site (also the actuals the hour is settled on).
    pv_clearsky_mw
        Clear-sky PV power of each plant on the same index [MW].
    pv_capacity_mw, wind_capacity_mw
        (S,) plant capacities [MW]: the bounds of the forecasts.
    lat_deg, lon_deg
        (S,) site coordinates (correlation of errors between sites).
    horizon_h
        Longest lead the provider issues.
    window_days
        Days of past errors behind the conformal quantiles.
    seed
        Seed of the error innovations (the same seed gives the same forecasts).
    """

    method = "as_issued"

    def __init__(self, pv_mw: pd.DataFrame, wind_mw: pd.DataFrame, ci_g_per_kwh: pd.DataFrame,
                 pv_clearsky_mw: pd.DataFrame, pv_capacity_mw: np.ndarray, wind_capacity_mw: np.ndarray,
                 lat_deg: np.ndarray, lon_deg: np.ndarray, horizon_h: int, window_days: int = 28,
                 seed: int = 0) -> None:
        super().__init__(pv_mw, wind_mw, ci_g_per_kwh)
        if not pv_clearsky_mw.index.equals(pv_mw.index):
            raise ValueError("pv_clearsky_mw must be on the same index as pv_mw")
        self._pv_cs_frame = pv_clearsky_mw
        index = pv_mw.index
        if len(index) <= horizon_h:
            raise ValueError(f"{len(index)} hours of series for a {horizon_h} h horizon; extend the series")
        self.horizon_h = horizon_h
        self.sites = list(pv_mw.columns)
        n_issue = len(index) - horizon_h + 1
        self._issues = index[:n_issue]
        pos = np.arange(n_issue)
        wind_process, pv_process = fitted_process("wind"), fitted_process("pv")
        for process in (wind_process, pv_process):
            if process.horizon_h < horizon_h:
                raise ValueError(f"the fitted {process.kind} error process covers {process.horizon_h} h; "
                                 f"[mpc] horizon_h = {horizon_h} is longer; refit with a longer horizon")
        pv_cap = np.asarray(pv_capacity_mw, float)[None, None, :]
        wind_cap = np.asarray(wind_capacity_mw, float)[None, None, :]
        pv_actual = _gather(pv_mw.to_numpy(float), pos, horizon_h)
        wind_actual = _gather(wind_mw.to_numpy(float), pos, horizon_h)
        clear = np.clip(_gather(pv_clearsky_mw.to_numpy(float), pos, horizon_h), 0.0, None)
        trim = lambda p: ErrorProcess(p.kind, p.sigma[:horizon_h], p.phi, p.a, p.corr_length_km)  # noqa: E731
        wind_corr = site_correlation(lat_deg, lon_deg, wind_process.corr_length_km)
        pv_corr = site_correlation(lat_deg, lon_deg, pv_process.corr_length_km)
        self._wind_f = np.clip(wind_actual + errors(trim(wind_process), self._issues, wind_cap, wind_corr,
                                                  seed + WIND_SEED), 0.0, wind_cap)
        self._pv_f = np.clip(pv_actual + errors(trim(pv_process), self._issues, clear, pv_corr, seed + PV_SEED),
                             0.0, pv_cap)
        self._ci_f = self._carbon(ci_g_per_kwh, horizon_h)
        ci_actual = _gather(ci_g_per_kwh.to_numpy(float), pos, horizon_h)
        window = window_days * 24
        day = clear > DAYLIGHT_FRACTION * np.maximum(pv_cap, 1e-9)
        safe_clear = np.where(day, clear, 1.0)
        self._q = {}
        spec = (("pv_mw", self._pv_f, pv_actual, safe_clear, day, pv_cap),
                ("wind_mw", self._wind_f, wind_actual, 1.0, wind_cap > 0, wind_cap),
                ("green_mw", self._pv_f + self._wind_f, pv_actual + wind_actual, 1.0, np.ones_like(day), pv_cap + wind_cap),
                ("ci_g_per_kwh", self._ci_f, ci_actual, 1.0, np.ones_like(day), np.inf))
        for name, forecast, actual, scale, counted, upper in spec:
            residual = np.where(np.broadcast_to(counted, forecast.shape), (actual - forecast) / scale, np.nan)
            offsets = conformal_offsets(residual, window)
            for q, off in offsets.items():
                value = forecast + scale * np.nan_to_num(off, nan=0.0)
                self._q[f"{name}_p{round(q * 100)}"] = np.clip(value, 0.0, upper)

    def _carbon(self, ci: pd.DataFrame, horizon_h: int) -> np.ndarray:
        weights = carbon_blend_weights(horizon_h)
        out = np.empty((len(self._issues), horizon_h, ci.shape[1]))
        for s, site in enumerate(ci.columns):
            series = ci[site]
            base = carbon_base(series, self._issues[1:], horizon_h)
            blend = weights[None, :] * base["persistence"].to_numpy() + (1 - weights[None, :]) * base["daily_profile"].to_numpy()
            out[1:, :, s] = np.where(np.isfinite(blend), blend, base["persistence"].to_numpy())
            out[0, :, s] = series.iloc[0]  # nothing observed before the first hour
        return out

    def forecast(self, issue_time: pd.Timestamp, horizon_h: int) -> ForecastBundle:
        """The forecast issued at ``issue_time`` for ``horizon_h`` hours, with its quantiles."""
        if horizon_h > self.horizon_h:
            raise ValueError(f"horizon {horizon_h} h > the provider's {self.horizon_h} h; build it with a longer one")
        i = self._issues.get_indexer([issue_time])[0]
        if i < 0:
            raise KeyError(f"no forecast issued at {issue_time}: issues run {self._issues[0]} .. {self._issues[-1]}; "
                           "extend the series")
        index = pd.date_range(issue_time, periods=horizon_h, freq="h")
        frame = lambda values: pd.DataFrame(values[i, :horizon_h], index=index, columns=self.sites)  # noqa: E731
        return ForecastBundle(issue_time=issue_time, index=index, pv_mw=frame(self._pv_f), wind_mw=frame(self._wind_f),
                              ci_g_per_kwh=frame(self._ci_f), quantiles={k: frame(v) for k, v in self._q.items()},
                              method=self.method)
