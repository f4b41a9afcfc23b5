"""As-issued forecasts: made at each issue time from what was observed before it, nothing later.

Methods (all per site, hourly, for lead times 1..H hours after the last observed hour):

PV
    Smart persistence of the clear-sky index blended into its recent climatology::

        k_now  = sum(P[t-3h..t-1h]) / sum(P_cs[t-3h..t-1h])          (if the sun was up)
        k_clim = sum(P[t-7d..t-1h]) / sum(P_cs[t-7d..t-1h])
        P^(t+h) = P_cs(t+h) * (w(h) k_now + (1 - w(h)) k_clim),   w(h) = exp(-h / tau_pv)

    ``P_cs`` is the plant's clear-sky power (pvlib simplified Solis clear sky through the same
    PVWatts chain), so the daily cycle is exact and only the cloudiness is forecast.
Wind
    Persistence of the last hour blended into the mean of the last ``history_days`` days,
    ``w(h) = exp(-h / tau_wind)``.
Carbon intensity
    The same hour one day earlier (daily-profile persistence). With constant regional factors
    this equals the actual value.

References
----------
Pedro, H. T. C., Coimbra, C. F. M. (2012). Assessment of forecasting techniques for solar power
production with no exogenous inputs. Solar Energy 86, 2017-2028 (smart persistence).
Ineichen, P. (2008). A broadband simplified version of the Solis clear sky model. Solar Energy 82.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from forecasts.bundle import ForecastBundle, rows_on
from forecasts.provider import PerfectForecastProvider

logger = logging.getLogger(__name__)

RECENT_H = 3
"""Hours of observations behind the clear-sky index now."""
MIN_CLEARSKY_MWH = 1e-3
"""Below this clear-sky energy (night, dawn) the recent index is not defined: climatology is used."""


class AsIssuedForecastProvider(PerfectForecastProvider):
    """Forecasts that only use observations before their issue time.

    Parameters
    ----------
    pv_mw, wind_mw, ci_g_per_kwh
        Observed (realised) series, hourly UTC index x site. They are also the actuals.
    pv_clearsky_mw
        Clear-sky PV power of each plant on the same index [MW] (a model, known in advance).
    history_days
        Days of past observations behind the climatologies.
    pv_tau_h, wind_tau_h
        e-folding lead time of the persistence weight [h].
    """

    method = "persistence"

    def __init__(
        self,
        pv_mw: pd.DataFrame,
        wind_mw: pd.DataFrame,
        ci_g_per_kwh: pd.DataFrame,
        pv_clearsky_mw: pd.DataFrame,
        history_days: int = 7,
        pv_tau_h: float = 4.0,
        wind_tau_h: float = 6.0,
    ) -> None:
        super().__init__(pv_mw, wind_mw, ci_g_per_kwh)
        if not pv_clearsky_mw.index.equals(pv_mw.index):
            raise ValueError("pv_clearsky_mw must be on the same index as pv_mw")
        self._pv_cs = pv_clearsky_mw
        self.history_days = history_days
        self.pv_tau_h = pv_tau_h
        self.wind_tau_h = wind_tau_h

    def forecast(self, issue_time: pd.Timestamp, horizon_h: int) -> ForecastBundle:
        """Forecast for the ``horizon_h`` hours from ``issue_time`` (observations before it only).

        Before ``history_days`` of history exist (the first days of a run), the history is
        whatever is there; with no observation at all, the forecast is the clear-sky index 1
        for PV and the first observed wind hour is unknown, so wind is taken as zero.
        """
        index = pd.date_range(issue_time, periods=horizon_h, freq="h")
        missing = index.difference(self._pv_cs.index)
        if len(missing):
            raise KeyError(f"no clear-sky model for {len(missing)} hours from {missing[0]}; extend the series")
        observed = self._pv.index
        first = observed.searchsorted(issue_time - pd.Timedelta(days=self.history_days))
        past = observed[first : observed.searchsorted(issue_time)]  # the index is sorted
        lead_h = np.arange(1, horizon_h + 1, dtype=float)[:, None]
        pv = self._pv_forecast(past, index, lead_h)
        wind = self._wind_forecast(past, index, lead_h)
        ci = self._ci_forecast(issue_time, index)
        return ForecastBundle(issue_time=issue_time, index=index, pv_mw=pv, wind_mw=wind, ci_g_per_kwh=ci,
                              method=self.method)

    def _pv_forecast(self, past: pd.DatetimeIndex, index: pd.DatetimeIndex, lead_h: np.ndarray) -> pd.DataFrame:
        clearsky = rows_on(self._pv_cs, index)
        if len(past) == 0:
            return clearsky.copy()
        observed, model = rows_on(self._pv, past), rows_on(self._pv_cs, past)
        k_clim = _ratio(observed.sum(), model.sum(), fallback=1.0)
        recent = past[-RECENT_H:]
        k_now = _ratio(observed.loc[recent].sum(), model.loc[recent].sum(), fallback=k_clim)
        weight = np.exp(-lead_h / self.pv_tau_h)
        k = weight * k_now.to_numpy()[None, :] + (1.0 - weight) * k_clim.to_numpy()[None, :]
        return clearsky * np.clip(k, 0.0, 1.2)

    def _wind_forecast(self, past: pd.DatetimeIndex, index: pd.DatetimeIndex, lead_h: np.ndarray) -> pd.DataFrame:
        if len(past) == 0:
            return pd.DataFrame(0.0, index=index, columns=self._wind.columns)
        observed = rows_on(self._wind, past)
        last = observed.iloc[-1].to_numpy()[None, :]
        mean = observed.mean().to_numpy()[None, :]
        weight = np.exp(-lead_h / self.wind_tau_h)
        return pd.DataFrame(weight * last + (1.0 - weight) * mean, index=index, columns=self._wind.columns)

    def _ci_forecast(self, issue_time: pd.Timestamp, index: pd.DatetimeIndex) -> pd.DataFrame:
        # the same hour on the latest day observed before the issue time
        days_back = np.ceil(((index - issue_time) / pd.Timedelta(hours=1) + 1) / 24.0).astype(int)
        source = index - pd.to_timedelta(days_back * 24, unit="h")
        available = source.isin(self._ci.index)
        values = self._ci.reindex(source).to_numpy()
        if not available.all():  # before the data starts: the first observed value
            values[~available] = self._ci.iloc[0].to_numpy()
        return pd.DataFrame(values, index=index, columns=self._ci.columns)


def _ratio(numerator: pd.Series, denominator: pd.Series, fallback: float | pd.Series) -> pd.Series:
    """numerator / denominator per site, ``fallback`` where the denominator is ~0."""
    fallback = fallback if isinstance(fallback, pd.Series) else pd.Series(fallback, index=numerator.index)
    defined = denominator > MIN_CLEARSKY_MWH
    return (numerator / denominator.where(defined)).where(defined, fallback)
