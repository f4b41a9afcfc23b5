"""Assemble a scenario from settings: site supply series, carbon intensity, grid model, jobs.

This is the only place that turns configuration into the objects the policies and the
simulation use; the daemon builds the same objects from the same settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import pandas as pd

from control.errors import InputError
from control.fleet import Fleet
from control.jobs import read_jobs, site_gpus
from control.settings import Settings
from forecasts.as_issued import AsIssuedForecastProvider
from forecasts.carbon_sources import china_model_g_per_kwh, electricitymaps_g_per_kwh
from forecasts.provider import PerfectForecastProvider
from forecasts.synthetic import ErrorProcessForecastProvider
from forecasts.solar import PvPlant, clearsky_weather, pv_power_mw
from forecasts.weather import location_mismatch, read_epw, weather_on_index
from forecasts.wind import WindFarm, wind_power_mw
from grid_models.china import build_china_grid, read_demand
from grid_models.composite import CompositeGrid
from grid_models.connection import ConnectionSpec, SiteConnectionGrid, check_connection_capacity
from grid_models.network import NetworkError, NetworkGrid, load_network

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    fleet: Fleet
    jobs: pd.DataFrame
    index: pd.DatetimeIndex
    """Hourly control steps of the run."""
    provider: PerfectForecastProvider
    """Issues the forecasts the policies decide on, and the actuals the hour is settled on."""
    grid: CompositeGrid
    gpu_available: pd.DataFrame | None = None
    """GPUs in service per hour and site; zero during configured outages."""
    tariff_per_mwh: pd.DataFrame | None = None
    """Grid price per hour and site [currency/MWh], from each site's region."""


def site_tariffs_per_mwh(settings: Settings, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Grid price per UTC hour and site [currency/MWh] (flat or time-of-use, by region)."""
    return pd.DataFrame({s.name: settings.region(s.region).tariff_on(index) for s in settings.sites}, index=index)


@overload
def site_supply_mw(
    settings: Settings, index: pd.DatetimeIndex, clearsky: Literal[False] = False
) -> tuple[pd.DataFrame, pd.DataFrame]: ...
@overload
def site_supply_mw(
    settings: Settings, index: pd.DatetimeIndex, clearsky: Literal[True]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]: ...
def site_supply_mw(
    settings: Settings, index: pd.DatetimeIndex, clearsky: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """PV and wind power per site on ``index`` [MW], from each site's weather file; with
    ``clearsky`` also each plant's clear-sky PV power (what as-issued PV forecasts scale)."""
    pv, wind, pv_clear = {}, {}, {}
    for site in settings.sites:
        if site.weather_file is None:  # no own PV or wind (settings enforce it): no weather needed
            pv[site.name] = wind[site.name] = pv_clear[site.name] = pd.Series(0.0, index=index)
            continue
        year = read_epw(site.weather_file)
        for message in location_mismatch(year, site.lat, site.lon, site.weather_file):
            logger.warning("site %s: %s", site.name, message)
        weather = weather_on_index(year, index)
        plant = PvPlant(site.lat, site.lon, site.altitude_m, site.pv_capacity_mw, site.pv_tilt_deg,
                        site.pv_azimuth_deg, site.pv_dc_ac_ratio)
        pv[site.name] = pv_power_mw(plant, weather)
        if clearsky:
            pv_clear[site.name] = pv_power_mw(plant, clearsky_weather(plant, weather))
        wind[site.name] = wind_power_mw(
            WindFarm(site.wind_capacity_mw, site.wind_turbine, site.wind_hub_height_m, site.wind_farm_efficiency),
            weather,
        )
    frames = (pd.DataFrame(pv, index=index), pd.DataFrame(wind, index=index))
    return (*frames, pd.DataFrame(pv_clear, index=index)) if clearsky else frames


def forecast_provider(settings: Settings, start: pd.Timestamp, index: pd.DatetimeIndex, live: bool = False):
    """The ``[forecast] method`` provider over ``index``: ``perfect`` (the upper bound),
    ``as_issued`` (actual + the error process fitted on real forecast errors, with conformal
    quantiles; :mod:`forecasts.synthetic`), ``persistence`` (smart persistence,
    :mod:`forecasts.as_issued`) or the feeds (``control.feeds``; ``live``: the daemon fetches the
    feeds that have an URL). ``as_issued`` and ``persistence`` also get the history a site has when
    codispatch starts (``history_days``; for ``as_issued`` at least ``quantile_window_days``, the
    past errors behind its quantiles), so the first day is forecast like any other."""
    method = settings.forecast.method
    if method == "feeds":
        from control.feeds import feeds_provider

        return feeds_provider(settings, live, site_carbon_intensity, series_index=None if live else index)
    if method == "perfect":
        pv, wind = site_supply_mw(settings, index)
        return PerfectForecastProvider(pv, wind, site_carbon_intensity(settings, index))
    f = settings.forecast
    history_days = f.history_days if method == "persistence" else max(f.history_days, f.quantile_window_days)
    index = pd.date_range(start - pd.Timedelta(days=history_days), index[-1], freq="h")
    ci = site_carbon_intensity(settings, index)
    pv, wind, pv_clear = site_supply_mw(settings, index, clearsky=True)
    if method == "persistence":
        return AsIssuedForecastProvider(pv, wind, ci, pv_clear, history_days=f.history_days,
                                        pv_tau_h=f.pv_persistence_h, wind_tau_h=f.wind_persistence_h)
    sites = settings.sites
    pv_cap = np.array([max(s.pv_capacity_mw, float(pv[s.name].max()), float(pv_clear[s.name].max())) for s in sites])
    wind_cap = np.array([max(s.wind_capacity_mw, float(wind[s.name].max())) for s in sites])
    horizon_h = min(settings.mpc.horizon_h, len(index) - 1)
    return ErrorProcessForecastProvider(
        pv, wind, ci, pv_clear, pv_cap, wind_cap, np.array([s.lat for s in sites]), np.array([s.lon for s in sites]),
        horizon_h=horizon_h, window_days=f.quantile_window_days, seed=f.error_seed)


def site_carbon_intensity(settings: Settings, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Grid carbon intensity seen by each site [gCO2/kWh]: the ``[accounting] factor_file`` set
    when one is configured (so the summary and the ledger agree), else the ``[forecast] carbon``
    source: the region's average factor, the China regional model, or an Electricity Maps zone."""
    if settings.accounting.factor_file is not None:
        from control.accounting.factors import FactorTable  # accounting imports settings only
        return FactorTable.from_settings(settings).site_intensity_g_per_kwh(
            {s.name: s.region for s in settings.sites}, index)
    return pd.DataFrame({s.name: region_carbon_intensity(settings, s.region, index) for s in settings.sites})


def region_carbon_intensity(settings: Settings, region: str, index: pd.DatetimeIndex) -> pd.Series:
    """One region's hourly intensity from the ``[forecast] carbon`` source [gCO2/kWh]."""
    f = settings.forecast
    factor_g_per_kwh = settings.region(region).emission_factor_kg_per_kwh * 1000.0
    if f.carbon == "china_model":
        scale = factor_g_per_kwh if f.china_scale_to_region_factor else None
        assert f.china_data_dir is not None and f.china_weather_dir is not None  # validated by ForecastSettings
        return china_model_g_per_kwh(f.china_regions[region], f.china_data_dir, f.china_weather_dir, index, scale)
    if f.carbon == "electricitymaps":
        return electricitymaps_g_per_kwh(f.electricitymaps_files[region], index)
    return pd.Series(factor_g_per_kwh, index=index)


def hour_of_year(index: pd.DatetimeIndex, utc_offset_h: float = 8.0) -> np.ndarray:
    """Local hour of the (non-leap) year of each UTC hour, for hourly profiles of a typical year."""
    local = index.tz_convert("UTC") + pd.Timedelta(hours=utc_offset_h)
    day = np.minimum(local.dayofyear.to_numpy() - 1, 364)
    return day * 24 + local.hour.to_numpy()


def grid_from_settings(settings: Settings, index: pd.DatetimeIndex) -> CompositeGrid:
    """Site connections (with their background load over ``index``) and the optional network."""
    grid = settings.grid
    fleet = Fleet.from_settings(settings)
    specs = [ConnectionSpec(site=s.name, **s.connection.model_dump()) for s in settings.sites]
    for spec, facility_mw in zip(specs, fleet.gpu_facility_mw * fleet.gpu_count, strict=True):
        check_connection_capacity(spec, facility_mw)
    background = None
    demand = read_demand(grid.china_data) if grid.china_data else None
    if grid.background_profile == "province_demand":
        assert demand is not None  # GridSettings requires china_data for this profile
        hours = hour_of_year(index)
        columns = {}
        for spec in specs:
            province = grid.site_provinces.get(spec.site)
            if province not in demand.columns:
                raise NetworkError(f"site {spec.site!r} has province {province!r}; provinces are {sorted(demand.columns)}")
            shape = demand[province] / demand[province].max()
            columns[spec.site] = spec.background_load_mw * shape.to_numpy()[hours]
        background = pd.DataFrame(columns, index=index)
    connections = SiteConnectionGrid(specs, background, grid.linear_margin, grid.max_loading_pct,
                                     grid.vm_min_pu, grid.vm_max_pu)
    network = None
    if grid.network == "china":
        assert grid.china_data is not None  # GridSettings requires it for network = 'china'
        china = build_china_grid(grid.china_data)
        unknown = {s: p for s, p in grid.site_provinces.items() if p not in china.bus_of}
        if unknown or set(grid.site_provinces) != set(settings.site_names):
            raise NetworkError(
                f"[grid.site_provinces] must map every site to a province; unknown {unknown}, "
                f"missing {sorted(set(settings.site_names) - set(grid.site_provinces))}"
            )
        network = NetworkGrid(
            china.net, {s: china.bus_of[p] for s, p in grid.site_provinces.items()},
            base_injections=lambda idx: china.injections_mw(hour_of_year(idx)),
            max_loading_pct=grid.max_loading_pct, vm_min_pu=grid.vm_min_pu, vm_max_pu=grid.vm_max_pu,
        )
    elif grid.network is not None:
        unknown_sites = sorted(set(grid.site_buses) - set(settings.site_names))
        if unknown_sites:
            raise NetworkError(f"[grid.site_buses] names unknown sites {unknown_sites}; sites are {settings.site_names}")
        network = NetworkGrid(load_network(grid.network), grid.site_buses, max_loading_pct=grid.max_loading_pct,
                              vm_min_pu=grid.vm_min_pu, vm_max_pu=grid.vm_max_pu)
    return CompositeGrid(connections, network)


def gpus_in_service(settings: Settings, index: pd.DatetimeIndex) -> pd.DataFrame:
    """GPUs per site and hour: all of them, except zero in hours touched by an outage."""
    frame = pd.DataFrame({s.name: np.full(len(index), float(s.gpu_count)) for s in settings.sites}, index=index)
    for outage in settings.outages:
        hours = (index + pd.Timedelta(hours=1) > pd.Timestamp(outage.start)) & (index < pd.Timestamp(outage.end))
        frame.loc[hours, outage.site] = 0.0
    return frame


def jobs_in_run(jobs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, source: object = "jobs") -> pd.Series:
    """Which jobs have release and deadline inside ``[start, end]``; warns when none has (the run
    would report only zeros)."""
    in_run = (jobs["release"] >= start) & (jobs["deadline"] <= end)
    logger.info("%d of %d jobs have release and deadline inside the run", int(in_run.sum()), len(jobs))
    if not in_run.any():
        span = (f"the file's jobs run from {jobs['release'].min():%Y-%m-%d %H:%M} to {jobs['deadline'].max():%Y-%m-%d %H:%M} UTC"
                if len(jobs) else "the file has no jobs")
        logger.warning(
            "no job of %s has its release and deadline inside the run %s to %s UTC (%s): every figure will be "
            "zero; move [scenario] start or --days onto the jobs, or give a job file for this period",
            source, f"{start:%Y-%m-%d %H:%M}", f"{end:%Y-%m-%d %H:%M}", span)
    return in_run


def load_scenario(settings: Settings, days: int) -> Scenario:
    """Everything needed to simulate ``days`` days from the scenario start."""
    if days < 1:
        raise InputError(f"days={days}; simulate at least 1 day")
    start = pd.Timestamp(settings.scenario.start).tz_convert("UTC")
    index = pd.date_range(start, periods=days * 24, freq="h")
    series_index = pd.date_range(start, periods=days * 24 + settings.mpc.horizon_h, freq="h")
    if settings.jobs is None:
        from control.settings.errors import ConfigError

        raise ConfigError("a simulation needs the jobs it plays: add [jobs] file = 'jobs.csv' to the config or give "
                          "--jobs FILE (the daemon needs none: it plans the jobs submitted to its store)")
    jobs = read_jobs(settings.jobs.file, settings.site_names, capacity=site_gpus(settings), late="warn")
    end = index[-1] + pd.Timedelta(hours=1)
    in_run = jobs_in_run(jobs, start, end, settings.jobs.file)
    return Scenario(
        settings=settings,
        fleet=Fleet.from_settings(settings),
        jobs=jobs[in_run].reset_index(drop=True),
        index=index,
        provider=forecast_provider(settings, start, series_index),
        grid=grid_from_settings(settings, series_index),
        gpu_available=gpus_in_service(settings, series_index),
        tariff_per_mwh=site_tariffs_per_mwh(settings, series_index),
    )
