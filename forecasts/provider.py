"""Forecast providers: objects that issue :class:`ForecastBundle` objects for a control step.

:class:`PerfectForecastProvider` hands out the realised series as the forecast. It is the
upper bound of forecast quality (used by the ``oracle`` and by tests) and the first provider
of the vertical slice; methods with real forecast error live next to it.
"""

from __future__ import annotations

import pandas as pd

from forecasts.bundle import ForecastBundle, rows_on


class PerfectForecastProvider:
    """Forecast = what actually happened.

    Parameters
    ----------
    pv_mw, wind_mw, ci_g_per_kwh
        Realised series, hourly UTC index x site, covering the whole run plus the horizon.
    """

    method = "perfect"

    def __init__(self, pv_mw: pd.DataFrame, wind_mw: pd.DataFrame, ci_g_per_kwh: pd.DataFrame) -> None:
        for name, frame in (("pv_mw", pv_mw), ("wind_mw", wind_mw), ("ci_g_per_kwh", ci_g_per_kwh)):
            if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
                raise ValueError(f"{name}: the hourly index must be sorted and without duplicates; sort_index() and "
                                 "drop repeated hours first")
        self._pv = pv_mw
        self._wind = wind_mw
        self._ci = ci_g_per_kwh

    def actual(self, index: pd.DatetimeIndex) -> ForecastBundle:
        """The realised values on ``index``."""
        return ForecastBundle(
            issue_time=index[-1] + pd.Timedelta(hours=1),
            index=index,
            pv_mw=rows_on(self._pv, index),
            wind_mw=rows_on(self._wind, index),
            ci_g_per_kwh=rows_on(self._ci, index),
            method="actual",
        )

    def forecast(self, issue_time: pd.Timestamp, horizon_h: int) -> ForecastBundle:
        """The realised values for the ``horizon_h`` hours starting at ``issue_time``."""
        index = pd.date_range(issue_time, periods=horizon_h, freq="h")
        bundle = self.actual(index)
        return ForecastBundle(
            issue_time=issue_time,
            index=index,
            pv_mw=bundle.pv_mw,
            wind_mw=bundle.wind_mw,
            ci_g_per_kwh=bundle.ci_g_per_kwh,
            method=self.method,
        )
