"""The forecast bundle: everything the controller believes about the next hours, with its issue time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasts.errors import ForecastInputError


def rows_on(frame: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """``frame.loc[index]``, as a positional slice when ``index`` is a run of consecutive rows of
    ``frame`` (the hourly windows of a control loop: ~20x cheaper than a label lookup per hour).
    Raises ``KeyError`` naming the first missing hour otherwise."""
    if len(index):
        start = frame.index.searchsorted(index[0])
        stop = start + len(index)
        if stop <= len(frame) and frame.index[start] == index[0] and frame.index[stop - 1] == index[-1]:
            window = frame.iloc[start:stop]
            if window.index.equals(index):
                return window
    missing = index.difference(frame.index)
    if len(missing):
        raise KeyError(f"no data for {len(missing)} hours, first {missing[0]}; extend the input series")
    return frame.loc[index]


def site_values(frame: pd.DataFrame, sites: list[str]) -> np.ndarray:
    """``frame[sites].to_numpy(float)``, without the column lookup when the columns already are
    ``sites`` in order (the usual case, and most of the cost for a one-hour frame)."""
    columns = frame.columns
    if len(columns) == len(sites) and all(a == b for a, b in zip(columns, sites, strict=True)):
        return frame.to_numpy(dtype=float)
    return frame[sites].to_numpy(dtype=float)


class LookAheadError(ForecastInputError):
    """A forecast was asked for data that was not yet observed at its issue time."""


@dataclass(frozen=True)
class ForecastBundle:
    """Forecasts for one control step.

    Attributes
    ----------
    issue_time
        When the forecast was made (UTC). Nothing observed after it may have been used.
    index
        Hourly interval starts (UTC) the forecast covers.
    pv_mw, wind_mw
        Site PV and wind power [MW], index x site.
    ci_g_per_kwh
        Grid carbon intensity seen by each site [gCO2/kWh], index x site.
    quantiles
        Optional quantile frames, e.g. ``"pv_mw_p10"``.
    method
        Name of the method that made it (``"actual"`` for realised values).
    """

    issue_time: pd.Timestamp
    index: pd.DatetimeIndex
    pv_mw: pd.DataFrame
    wind_mw: pd.DataFrame
    ci_g_per_kwh: pd.DataFrame
    quantiles: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    method: str = "perfect"

    def __post_init__(self) -> None:
        if self.issue_time.tzinfo is None:
            raise ValueError(f"issue_time {self.issue_time} is naive; give a UTC timestamp")
        for name in ("pv_mw", "wind_mw", "ci_g_per_kwh"):
            frame = getattr(self, name)
            if not frame.index.equals(self.index):
                raise ValueError(f"{name} is not on the bundle's index")

    @property
    def green_mw(self) -> pd.DataFrame:
        """Own or contracted renewable supply per site [MW]."""
        return self.pv_mw + self.wind_mw

    def planning_green_mw(self, quantile: str = "mean") -> pd.DataFrame:
        """The green supply a controller plans on: the point forecast (``"mean"``) or one of the
        bundle's quantiles of green (``"p10"``: the plan holds if green comes in at its P10).
        Bundles without quantiles (perfect forecasts, fallbacks) give the point forecast."""
        if quantile == "mean":
            return self.green_mw
        frame = self.quantiles.get(f"green_mw_{quantile}")
        return self.green_mw if frame is None else frame

    @property
    def sites(self) -> list[str]:
        return list(self.pv_mw.columns)
