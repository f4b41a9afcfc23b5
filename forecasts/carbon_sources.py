"""Hourly grid carbon intensity per site from a data source, laid onto any UTC index.

Sources (``[forecast] carbon``):

``constant``
    the region's published average factor (done by the caller; no series here).
``china_model``
    :func:`forecasts.carbon_china.regional_intensity`: hourly AVERAGE (not marginal) intensity of
    a Chinese regional grid, built on 2018 demand and calibrated to the published 2022 factor.
    With ``scale_to_g_per_kwh`` the series keeps the regional shape and is rescaled so its
    demand-weighted annual mean equals that value (a province's own published factor).
``electricitymaps``
    a zone's hourly ``ci_direct_g_per_kwh`` from an Electricity Maps export (2021).

Both are single historical years: each requested hour takes the value of the same month, day
and hour of that year (UTC+8 local time for China, UTC for Electricity Maps; 29 February takes
28 February). This is a typical-year profile, stated so, not a forecast of that year.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.errors import ForecastInputError
from forecasts.carbon_china import annual_mean_g_per_kwh, regional_intensity
from forecasts.carbon_electricitymaps import read_electricitymaps

logger = logging.getLogger(__name__)


def on_index(series: pd.Series, index: pd.DatetimeIndex, utc_offset_h: float) -> pd.Series:
    """Lay a one-year hourly series onto ``index`` by local (month, day, hour)."""
    if index.tz is None:
        raise ValueError("index must be timezone-aware (UTC); got naive timestamps")
    shift = pd.Timedelta(hours=utc_offset_h)

    def keys(times: pd.DatetimeIndex) -> pd.MultiIndex:
        local = times.tz_convert("UTC") + shift
        day = np.where((local.month == 2) & (local.day == 29), 28, local.day)
        return pd.MultiIndex.from_arrays([local.month, day, local.hour])

    _warn_other_year(series.index, index)
    table = pd.Series(series.to_numpy(), index=keys(series.index))
    table = table[~table.index.duplicated()]
    values = table.reindex(keys(index))
    if values.isna().any():
        first = index[np.asarray(values.isna())][0]
        raise ForecastInputError(f"the source year has no value for the local hour of {first}; it must cover a whole year")
    return pd.Series(values.to_numpy(), index=index)


_WARNED: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()


def _warn_other_year(source: pd.DatetimeIndex, index: pd.DatetimeIndex) -> None:
    """Say (once per pair of years) when the calendar is not the carbon data's own year."""
    if len(index) == 0 or len(source) == 0:
        return
    data_years = tuple(sorted({int(y) for y in source.year.unique()}))
    run_years = tuple(sorted({int(y) for y in index.year.unique()}))
    if set(run_years) <= set(data_years) or (data_years, run_years) in _WARNED:
        return
    _WARNED.add((data_years, run_years))
    logger.warning(
        "the carbon data cover %s but the run's calendar is %s: each hour takes the value of the same "
        "month, day and hour of the data's year (a typical-year profile, not that year's grid); use carbon "
        "data of %s for real hourly values", "-".join(map(str, data_years[:1] + data_years[-1:])),
        ", ".join(map(str, run_years)), ", ".join(map(str, run_years)))


@functools.lru_cache(maxsize=16)
def _china(region: str, china_dir: Path, weather_dir: Path) -> tuple[pd.Series, float]:
    model = regional_intensity(region, china_dir, weather_dir)
    return model.frame["ci_g_per_kwh"], annual_mean_g_per_kwh(model)


@functools.lru_cache(maxsize=32)
def _electricitymaps(path: Path) -> pd.Series:
    return read_electricitymaps(path)[0]["ci_direct_g_per_kwh"]


def china_model_g_per_kwh(region: str, china_dir: Path, weather_dir: Path, index: pd.DatetimeIndex,
                          scale_to_g_per_kwh: float | None = None) -> pd.Series:
    """AVERAGE intensity of a Chinese regional grid on ``index`` [gCO2/kWh]; with
    ``scale_to_g_per_kwh``, its shape at that demand-weighted annual mean."""
    series, mean_g_per_kwh = _china(region, Path(china_dir), Path(weather_dir))
    if scale_to_g_per_kwh is not None:
        series = series * (scale_to_g_per_kwh / mean_g_per_kwh)
    return on_index(series, index, utc_offset_h=8.0)


def electricitymaps_g_per_kwh(path: Path, index: pd.DatetimeIndex) -> pd.Series:
    """Direct intensity of an Electricity Maps zone on ``index`` [gCO2/kWh]."""
    return on_index(_electricitymaps(Path(path)), index, utc_offset_h=0.0)
