"""The feeds forecast provider: NWP -> site power, Electricity Maps -> intensity, meters -> actuals.

The same object serves the daemon (HTTP or drop-folder sources, one tick at a time) and
``codispatch simulate`` (the recorded folders of a period): both call :meth:`forecast_checked`
with the tick time, so on the same data both plan on the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from forecasts.bundle import ForecastBundle
from forecasts.feeds.checks import MAX_NIGHT_SHARE, night_share
from forecasts.feeds.electricitymaps import CarbonSeries
from forecasts.feeds.errors import FeedError
from forecasts.feeds.open_meteo import SitePlants, site_power_mw
from forecasts.feeds.sources import Weather

logger = logging.getLogger(__name__)


class NwpSource(Protocol):
    def latest(self, site: str, lat: float, lon: float, at: pd.Timestamp) -> Weather: ...


class CarbonSource(Protocol):
    def forecast(self, zone: str, at: pd.Timestamp) -> CarbonSeries: ...

    def history(self, zone: str, at: pd.Timestamp | None = None) -> CarbonSeries: ...


@dataclass(frozen=True)
class FeedSite:
    name: str
    lat: float
    lon: float
    region: str
    plants: SitePlants


class FeedsForecastProvider:
    """Forecasts from the feeds; actuals from meter readings and the carbon history.

    Parameters
    ----------
    sites
        The fleet's sites in order.
    nwp
        Weather forecast source.
    carbon, zones
        Carbon source and region -> zone; regions without a zone (or ``carbon`` None) use
        ``default_ci`` (the configured model, by default the China hourly model).
    default_ci
        ``index -> DataFrame`` (index x site) of the default intensity.
    meters
        Hourly metered power (``time``, ``site``, ``pv_mw``, ``wind_mw``, ...) for :meth:`actual`.
    carbon_max_age_h
        A carbon forecast updated longer ago than this is stale (default model instead, flagged).
    """

    method = "feeds"

    def __init__(self, sites: list[FeedSite], nwp: NwpSource, carbon: CarbonSource | None, zones: Mapping[str, str],
                 default_ci: Callable[[pd.DatetimeIndex], pd.DataFrame], meters: pd.DataFrame | None = None,
                 carbon_max_age_h: float = 6.0) -> None:
        self.sites = sites
        self.nwp = nwp
        self.carbon = carbon
        self.zones = dict(zones)
        self.default_ci = default_ci
        self.meters = meters
        self.carbon_max_age_h = carbon_max_age_h
        self._history: dict[str, CarbonSeries] = {}

    # forecasts --------------------------------------------------------------------------------
    def forecast(self, issue_time: pd.Timestamp, horizon_h: int) -> ForecastBundle:
        """The forecast for the ``horizon_h`` hours from ``issue_time`` (raises FeedError when the
        NWP of a site is unusable; carbon problems fall back to the default model)."""
        return self.forecast_checked(issue_time, horizon_h)[0]

    def forecast_checked(self, at: pd.Timestamp, horizon_h: int) -> tuple[ForecastBundle, list[str]]:
        """The bundle and the feed flags raised (e.g. ``carbon_stale:north_china``)."""
        index = pd.date_range(at, periods=horizon_h, freq="h")
        pv, wind, issues = {}, {}, []
        for site in self.sites:
            weather = self.nwp.latest(site.name, site.lat, site.lon, at)
            if weather.issue_time > at:  # sources already refuse these; kept as the rule's one place
                raise FeedError("nwp_future", f"NWP for {site.name} issued {weather.issue_time}, after {at}")
            window = weather.frame.reindex(index)
            ghi = window["ghi_w_per_m2"].dropna()
            share = night_share(site.lat, site.lon, pd.DatetimeIndex(ghi.index), ghi.to_numpy())
            if share > MAX_NIGHT_SHARE:  # checked first: a shifted clock also leaves hours uncovered
                raise FeedError("nwp_time_shifted", f"NWP for {site.name} issued {weather.issue_time} puts {share:.0%} of "
                                "its sunlight at night: its times are shifted (check utc_offset_seconds / timezone)")
            needed = ["ghi_w_per_m2", "dni_w_per_m2", "dhi_w_per_m2", "temp_air_c", "wind_speed_10m_m_per_s"]
            holes = window[needed].isna().any(axis=1)
            if holes.any():
                raise FeedError("nwp_partial", f"NWP for {site.name} issued {weather.issue_time} covers {int((~holes).sum())} "
                                f"of the {horizon_h} hours from {at} (first missing {index[holes.to_numpy()][0]}); "
                                "ask for more forecast_days")
            pv[site.name], wind[site.name] = site_power_mw(site.plants, window)
            issues.append(weather.issue_time)
        ci, flags = self._ci_forecast(at, index)
        bundle = ForecastBundle(issue_time=min(issues), index=index, pv_mw=pd.DataFrame(pv, index=index),
                                wind_mw=pd.DataFrame(wind, index=index), ci_g_per_kwh=ci, method=self.method)
        return bundle, flags

    def _ci_forecast(self, at: pd.Timestamp, index: pd.DatetimeIndex) -> tuple[pd.DataFrame, list[str]]:
        default = self.default_ci(index)
        ci = default.copy()
        flags = []
        for region in sorted({s.region for s in self.sites}):
            zone = self.zones.get(region)
            if zone is None or self.carbon is None:
                continue
            columns = [s.name for s in self.sites if s.region == region]
            try:
                series = self.carbon.forecast(zone, at)
                age_h = (at - series.updated_at) / pd.Timedelta(hours=1) if series.updated_at is not None else 0.0
                if age_h > self.carbon_max_age_h:
                    raise FeedError("carbon_stale", f"carbon forecast of {zone} is {age_h:.1f} h old "
                                    f"(limit {self.carbon_max_age_h:g} h)")
                values = series.ci_g_per_kwh.reindex(index)
                if values.isna().any():
                    raise FeedError("carbon_partial", f"carbon forecast of {zone} covers {int(values.notna().sum())} of "
                                    f"the {len(index)} hours from {at}")
            except FeedError as exc:
                logger.warning("carbon feed %s: %s; region %s uses the default intensity model", zone, exc, region)
                flags.append(f"{exc.flag}:{region}")
                continue
            for column in columns:
                ci[column] = values.to_numpy()
        return ci, flags

    # actuals ------------------------------------------------------------------------------------
    def actual(self, index: pd.DatetimeIndex) -> ForecastBundle:
        """Metered PV and wind and the carbon history on ``index`` (KeyError naming the first
        missing hour when a value is missing)."""
        names = [s.name for s in self.sites]
        if self.meters is None:
            raise KeyError("no meter readings configured ([feeds] measurements_dir)")
        table = self.meters[self.meters["time"].isin(index)]
        frames = {}
        for column in ("pv_mw", "wind_mw"):
            frame = table.pivot(index="time", columns="site", values=column).reindex(index=index, columns=names)
            if frame.isna().to_numpy().any():
                hole = frame.isna().any(axis=1)
                raise KeyError(f"no complete meter reading for {frame.index[hole.to_numpy()][0]} "
                               f"(sites {list(frame.columns[frame.isna().any().to_numpy()])})")
            frames[column] = frame.astype(float)
        return ForecastBundle(issue_time=index[-1] + pd.Timedelta(hours=1), index=index, pv_mw=frames["pv_mw"],
                              wind_mw=frames["wind_mw"], ci_g_per_kwh=self.ci_actual(index), method="actual")

    def ci_actual(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Realised intensity per site: the zone's history, the default model for unmapped regions
        (KeyError naming the first hour the history lacks)."""
        ci, _ = self.ci_history(index)
        if ci.isna().to_numpy().any():
            hole = ci.isna().any(axis=1).to_numpy()
            raise KeyError(f"no carbon history for {index[hole][0]}")
        return ci

    def ci_history(self, index: pd.DatetimeIndex, at: pd.Timestamp | None = None) -> tuple[pd.DataFrame, list[str]]:
        """Realised intensity per site on ``index`` as known at ``at`` (NaN where the history has
        no value yet) and the flags of carbon feeds that failed (their regions are NaN too)."""
        ci = self.default_ci(index).copy()
        flags = []
        for region in sorted({s.region for s in self.sites}):
            zone = self.zones.get(region)
            if zone is None or self.carbon is None:
                continue
            columns = [s.name for s in self.sites if s.region == region]
            try:
                if zone not in self._history or at is not None:
                    self._history[zone] = self.carbon.history(zone, at)
                values = self._history[zone].ci_g_per_kwh.reindex(index).to_numpy()
            except FeedError as exc:
                logger.warning("carbon history of %s: %s", zone, exc)
                flags.append(f"{exc.flag}:{region}")
                values = np.full(len(index), np.nan)
            for column in columns:
                ci[column] = values
        return ci, flags
