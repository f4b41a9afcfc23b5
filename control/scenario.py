"""Assemble a scenario from settings: site supply series, carbon intensity, grid model, jobs.

This is the only place that turns configuration into the objects the policies and the
simulation use; the daemon builds the same objects from the same settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from control.fleet import Fleet
from control.jobs import read_jobs
from control.settings import Settings
from forecasts.provider import PerfectForecastProvider
from forecasts.solar import PvPlant, pv_power_mw
from forecasts.weather import read_epw, weather_on_index
from forecasts.wind import WindFarm, wind_power_mw
from grid_models.connection import ConnectionSpec, SiteConnectionGrid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    fleet: Fleet
    jobs: pd.DataFrame
    index: pd.DatetimeIndex
    """Hourly control steps of the run."""
    provider: PerfectForecastProvider
    grid: SiteConnectionGrid


def site_supply_mw(settings: Settings, index: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PV and wind power per site on ``index`` [MW], from each site's weather file."""
    pv, wind = {}, {}
    for site in settings.sites:
        weather = weather_on_index(read_epw(site.weather_file), index)
        pv[site.name] = pv_power_mw(
            PvPlant(site.lat, site.lon, site.altitude_m, site.pv_capacity_mw, site.pv_tilt_deg,
                    site.pv_azimuth_deg, site.pv_dc_ac_ratio),
            weather,
        )
        wind[site.name] = wind_power_mw(
            WindFarm(site.wind_capacity_mw, site.wind_turbine, site.wind_hub_height_m, site.wind_farm_efficiency),
            weather,
        )
    return pd.DataFrame(pv, index=index), pd.DataFrame(wind, index=index)


def site_carbon_intensity(settings: Settings, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Grid carbon intensity seen by each site [gCO2/kWh]: its region's average factor."""
    values = {s.name: settings.region(s.region).emission_factor_kg_per_kwh * 1000.0 for s in settings.sites}
    return pd.DataFrame({name: pd.Series(v, index=index) for name, v in values.items()})


def grid_from_settings(settings: Settings) -> SiteConnectionGrid:
    specs = [
        ConnectionSpec(site=s.name, **s.connection.model_dump())
        for s in settings.sites
    ]
    return SiteConnectionGrid(specs)


def load_scenario(settings: Settings, days: int) -> Scenario:
    """Everything needed to simulate ``days`` days from the scenario start."""
    if days < 1:
        raise ValueError(f"days={days}; simulate at least 1 day")
    start = pd.Timestamp(settings.scenario.start).tz_convert("UTC")
    index = pd.date_range(start, periods=days * 24, freq="h")
    series_index = pd.date_range(start, periods=days * 24 + settings.mpc.horizon_h, freq="h")
    pv, wind = site_supply_mw(settings, series_index)
    ci = site_carbon_intensity(settings, series_index)
    jobs = read_jobs(settings.jobs.file, settings.site_names)
    end = index[-1] + pd.Timedelta(hours=1)
    in_run = (jobs["release"] >= start) & (jobs["deadline"] <= end)
    logger.info("%d of %d jobs have release and deadline inside the run", int(in_run.sum()), len(jobs))
    return Scenario(
        settings=settings,
        fleet=Fleet.from_settings(settings),
        jobs=jobs[in_run].reset_index(drop=True),
        index=index,
        provider=PerfectForecastProvider(pv, wind, ci),
        grid=grid_from_settings(settings),
    )
