"""Core settings: the scenario, regions, sites, GPU models, jobs and the controller.

Every physical quantity carries its unit in its name. Validation happens once, here; the rest of
the code can trust a :class:`Settings` object.
"""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from control.settings.accounting import AccountingSettings
from control.settings.base import ConfigPath, FrozenModel
from control.settings.feeds import FeedsSettings
from control.settings.forecast import ForecastSettings
from control.settings.grid import GridSettings
from control.settings.runtime import RuntimeSettings


class ScenarioSettings(FrozenModel):
    """``[scenario]``: what is simulated or controlled, and on which calendar."""

    name: str = Field(min_length=1)
    start: datetime
    """First control step; must carry a UTC offset (e.g. ``2023-07-03T00:00:00+08:00``)."""
    step_h: Literal[1] = 1
    """Control step [h]. Only hourly steps are supported so far."""

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError(
                f"start={value.isoformat()} has no UTC offset; write it with one, "
                f"e.g. '{value.isoformat()}+08:00' or '{value.isoformat()}Z'"
            )
        return value.astimezone(timezone.utc)


class RegionSettings(FrozenModel):
    """``[[regions]]``: a grid region with its average emission factor."""

    name: str = Field(min_length=1)
    emission_factor_kg_per_kwh: float = Field(gt=0, le=2.0)
    """Average grid emission factor [kgCO2/kWh] (location-based)."""
    factor_source: str = ""
    """Where the factor comes from (publication, year); shown in reports."""
    tariff_per_mwh: float = Field(default=0.0, ge=0)
    """Flat grid electricity price [currency/MWh], used when no hourly tariff is given."""
    tariff_by_local_hour_per_mwh: list[float] | None = None
    """Time-of-use tariff: 24 prices [currency/MWh] for local hours 0..23 (peak, flat, valley)."""
    utc_offset_h: float = Field(default=0.0, ge=-12, le=14)
    """Local time of the tariff [h from UTC], e.g. 8 for China Standard Time."""
    market: str = ""
    """Electricity market the region belongs to (e.g. ``CN``): instruments must come from it."""
    residual_mix_kg_per_kwh: float | None = Field(default=None, gt=0, le=2.0)
    """Residual-mix factor for market-based accounting (grid power not covered by instruments);
    unset = the location factor, flagged in the report as an estimate."""
    grid_cfe_share: float | None = Field(default=None, ge=0, le=1)
    """Carbon-free share of the grid mix for the 24/7 CFE score; unset = 0, flagged."""

    @field_validator("tariff_by_local_hour_per_mwh")
    @classmethod
    def _day_of_prices(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (len(value) != 24 or min(value) < 0):
            raise ValueError(
                f"tariff_by_local_hour_per_mwh has {len(value)} values (min {min(value, default=0)}); "
                "give 24 non-negative prices, one per local hour 0..23"
            )
        return value

    def tariff_on(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Price in each UTC hour of ``index`` [currency/MWh]."""
        if self.tariff_by_local_hour_per_mwh is None:
            return np.full(len(index), self.tariff_per_mwh)
        local_hour = ((index.hour + index.minute / 60 + self.utc_offset_h) % 24).astype(int)
        return np.asarray(self.tariff_by_local_hour_per_mwh, dtype=float)[local_hour]


class GpuModelSettings(FrozenModel):
    """``[gpu_models.NAME]``: power and speed of one GPU model."""

    power_kw: float = Field(gt=0, le=5)
    """IT power per busy GPU including its share of host, network and storage [kW]."""
    throughput: float = Field(gt=0)
    """Training throughput relative to the reference GPU model (reference = 1.0)."""
    idle_power_kw: float | None = Field(default=None, ge=0, le=5)
    """IT power per GPU held but idle (e.g. waiting for a checkpoint to arrive) [kW]; default 30 %
    of ``power_kw`` (an assumption: idle accelerators plus their hosts, fans and network)."""

    @property
    def idle_kw(self) -> float:
        return self.idle_power_kw if self.idle_power_kw is not None else 0.3 * self.power_kw


class ConnectionSettings(FrozenModel):
    """``[sites.connection]``: the site's grid connection (built as a pandapower network)."""

    hv_kv: float = Field(default=220.0, gt=0)
    """Voltage of the upstream substation [kV]."""
    mv_kv: float = Field(default=110.0, gt=0)
    """Voltage of the connection line and the site bus [kV]."""
    transformer_mva: float = Field(gt=0)
    """Rating of the substation transformer feeding the site [MVA]."""
    line_km: float = Field(default=10.0, gt=0)
    """Length of the connection line [km]."""
    line_max_i_ka: float = Field(gt=0)
    """Thermal rating of the connection line [kA]."""
    background_load_mw: float = Field(default=0.0, ge=0)
    """Other load fed through the same transformer [MW]."""
    power_factor: float = Field(default=0.95, gt=0, le=1)
    """Power factor of the data-centre load."""


class SiteSettings(FrozenModel):
    """``[[sites]]``: one data centre, its renewables, grid region and weather."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    label: str = ""
    tier: str = ""
    """Free label, e.g. ``east`` (load centre) or ``west`` (renewable base)."""
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    altitude_m: float = 0.0
    region: str
    it_capacity_mw: float = Field(gt=0)
    pue: float = Field(ge=1.0, le=3.0)
    gpu_model: str
    gpu_count: int = Field(gt=0)
    pv_capacity_mw: float = Field(default=0.0, ge=0)
    """PV DC nameplate [MWp], co-located or contracted."""
    pv_tilt_deg: float = Field(default=25.0, ge=0, le=90)
    pv_azimuth_deg: float = Field(default=180.0, ge=0, lt=360)
    pv_dc_ac_ratio: float = Field(default=1.2, gt=0)
    wind_capacity_mw: float = Field(default=0.0, ge=0)
    wind_turbine: str = "E-126/4200"
    """Turbine type from windpowerlib's bundled library."""
    wind_hub_height_m: float = Field(default=120.0, gt=10)
    wind_farm_efficiency: float = Field(default=0.9, gt=0, le=1)
    weather_file: ConfigPath | None = None
    """EPW weather file (plain or .gz) of the nearest station; needed only with PV or wind."""
    connection: ConnectionSettings

    @model_validator(mode="after")
    def _weather_for_renewables(self) -> SiteSettings:
        if self.weather_file is None and (self.pv_capacity_mw > 0 or self.wind_capacity_mw > 0):
            raise ValueError(
                f"site {self.name!r} has pv_capacity_mw={self.pv_capacity_mw} and wind_capacity_mw="
                f"{self.wind_capacity_mw} but no weather_file; give the EPW file of the nearest station "
                "(or set both capacities to 0 for a site without own renewables)"
            )
        return self

    @field_validator("weather_file")
    @classmethod
    def _exists(cls, value):  # noqa: ANN001, ANN206 - pydantic signature
        if value is not None and not value.exists():
            raise ValueError(
                f"weather file {value} does not exist; give the path of an EPW file "
                "(absolute, or relative to the config file)"
            )
        return value


class JobsSettings(FrozenModel):
    """``[jobs]``: where the deferrable jobs come from."""

    file: ConfigPath
    """CSV of jobs (see ``control.jobs.read_jobs`` for the columns)."""

    @field_validator("file")
    @classmethod
    def _exists(cls, value):  # noqa: ANN001, ANN206
        if not value.exists():
            raise ValueError(f"jobs file {value} does not exist; give the path of a job CSV")
        return value


class MpcSettings(FrozenModel):
    """``[mpc]``: the receding-horizon controller."""

    horizon_h: int = Field(default=48, ge=1, le=24 * 14)
    deadline_penalty_t_per_gpu_h: float = Field(default=10.0, gt=0)
    """Penalty for reference-GPU-hours of work missing at a deadline [tCO2-equivalent]."""
    early_bias_t_per_gpu_h: float = Field(default=1e-7, ge=0)
    """Tiny preference for earlier work when emissions are equal [t per GPU-h per hour]."""
    solver_time_limit_s: float = Field(default=60.0, gt=0)
    solver: Literal["auto", "ipm", "simplex"] = "auto"
    """HiGHS algorithm: ``auto`` = dual simplex for small models and for warm starts, interior point
    with crossover for large cold ones (thresholds and measurements: ``control.mpc.solve``)."""
    hourly_h: int = Field(default=12, ge=1)
    """Steps planned hour by hour; beyond them the plan is made in blocks of ``block_h`` hours
    (move blocking: the same GPUs for each hour of a block, every hour's power, capacity and grid
    limits still kept). The committed first hour is unaffected. 12 h with 4-hour blocks matches the
    job classes, whose windows beyond 12 h are already rounded to 4-hour boundaries; at a 48 h
    horizon the LP has about half the columns (10,000-job bench: 3 s -> 1 s per step, objective
    +0.3 %)."""
    block_h: int = Field(default=4, ge=1, le=24)
    """Hours per block beyond ``hourly_h`` (1 = plan every hour of the horizon)."""
    warm_start: bool = True
    """Start each step's dual simplex from the last step's basis (same optimum, fewer iterations)."""
    cost_weight_t_per_currency: float = Field(default=0.0, ge=0)
    """Weight of electricity cost in the objective [tCO2 per currency unit], i.e. 1 / the carbon
    price you trade at; 0 = minimise emissions only (cost is still reported)."""
    run_fraction_threshold: float = Field(default=0.5, gt=0, le=1)
    """A gang job runs in the committed step when the plan gives it at least this share of its GPUs."""
    green_quantile: Literal["mean", "p10", "p50", "p90"] = "mean"
    """Green supply the LP plans on (robust option): ``mean`` = the point forecast; ``p10`` = its
    conformal P10, so every row of the plan (power balance, GPU capacity, grid import limit, line
    limits) still holds when green comes in at its P10 and only green that is 90 % sure is counted
    as free. Forecasts without quantiles (``perfect``, the runtime fallbacks) use the point
    forecast. Default ``mean``: on 14 days of the default with as-issued forecasts it gave 423 tCO2,
    ``p10`` 463 (``docs/forecast_errors.md``)."""


class WanLinkSettings(FrozenModel):
    """``[[wan.links]]``: checkpoint bandwidth between two sites (both directions)."""

    a: str
    b: str
    gbps: float = Field(gt=0)


class WanSettings(FrozenModel):
    """``[wan]``: the wide-area network that carries checkpoints when a job migrates."""

    default_gbps: float = Field(default=10.0, gt=0)
    """Bandwidth available to one checkpoint transfer between any two sites [Gbit/s]."""
    links: list[WanLinkSettings] = Field(default_factory=list)
    """Pairs with a different bandwidth than the default."""


class OutageSettings(FrozenModel):
    """``[[outages]]``: a site (or all its GPUs) unavailable over an interval."""

    site: str
    start: datetime
    end: datetime
    reason: str = ""

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset; write e.g. '{value.isoformat()}Z'")
        return value.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _ordered(self) -> OutageSettings:
        if self.end <= self.start:
            raise ValueError(f"outage of {self.site!r} ends ({self.end}) before it starts ({self.start})")
        return self


class Settings(FrozenModel):
    """The whole configuration, validated once and frozen."""

    scenario: ScenarioSettings
    regions: list[RegionSettings] = Field(min_length=1)
    gpu_models: dict[str, GpuModelSettings] = Field(min_length=1)
    sites: list[SiteSettings] = Field(min_length=1)
    jobs: JobsSettings | None = None
    """The job file of simulations; the daemon plans the jobs submitted to its store and needs none."""
    mpc: MpcSettings = MpcSettings()
    outages: list[OutageSettings] = Field(default_factory=list)
    wan: WanSettings = WanSettings()
    grid: GridSettings = GridSettings()
    forecast: ForecastSettings = ForecastSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    accounting: AccountingSettings = AccountingSettings()
    feeds: FeedsSettings = FeedsSettings()

    @model_validator(mode="after")
    def _cross_references(self) -> Settings:
        region_names = [r.name for r in self.regions]
        site_names = [s.name for s in self.sites]
        for names, what in ((region_names, "region"), (site_names, "site")):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} names must be unique; repeated: {dupes}")
        for outage in self.outages:
            if outage.site not in site_names:
                raise ValueError(f"outage names unknown site {outage.site!r}; sites are {site_names}")
        for instrument in self.accounting.instruments:
            if instrument.site not in site_names:
                raise ValueError(
                    f"instrument {instrument.claim_id!r} names unknown site {instrument.site!r}; sites are {site_names}"
                )
        for link in self.wan.links:
            for end in (link.a, link.b):
                if end not in site_names:
                    raise ValueError(f"wan link {link.a}-{link.b} names unknown site {end!r}; sites are {site_names}")
        self._carbon_source_covers_regions(region_names)
        self._feeds_complete(region_names)
        for site in self.sites:
            if site.region not in region_names:
                raise ValueError(
                    f"site {site.name!r} has region={site.region!r}, which is not defined; "
                    f"defined regions: {region_names}. Add a [[regions]] entry or fix the name."
                )
            if site.gpu_model not in self.gpu_models:
                raise ValueError(
                    f"site {site.name!r} has gpu_model={site.gpu_model!r}, which is not defined; "
                    f"defined models: {sorted(self.gpu_models)}. Add [gpu_models.{site.gpu_model}]."
                )
            gpu_it_mw = site.gpu_count * self.gpu_models[site.gpu_model].power_kw / 1000.0
            if gpu_it_mw > site.it_capacity_mw * (1 + 1e-9):
                raise ValueError(
                    f"site {site.name!r}: {site.gpu_count} GPUs x "
                    f"{self.gpu_models[site.gpu_model].power_kw} kW = {gpu_it_mw:.2f} MW exceeds "
                    f"it_capacity_mw={site.it_capacity_mw}; lower gpu_count or raise the capacity"
                )
        return self

    def _feeds_complete(self, region_names: list[str]) -> None:
        feeds = self.feeds
        unknown = sorted(set(feeds.carbon_zones) - set(region_names))
        if unknown:
            raise ValueError(f"[feeds] carbon_zones names unknown regions {unknown}; regions are {region_names}")
        if self.forecast.method == "feeds" and feeds.nwp_url is None and feeds.nwp_dir is None:
            raise ValueError("[forecast] method = 'feeds' needs [feeds] nwp_url (an Open-Meteo endpoint) or nwp_dir "
                             "(a drop folder of Open-Meteo JSON files)")
        if feeds.carbon_zones and feeds.carbon_url is None and feeds.carbon_dir is None:
            raise ValueError("[feeds] carbon_zones is set but neither carbon_url nor carbon_dir; give one")

    def _carbon_source_covers_regions(self, region_names: list[str]) -> None:
        f = self.forecast
        tables: dict[str, tuple[str, Mapping[str, Any]]] = {
            "china_model": ("china_regions", f.china_regions),
            "electricitymaps": ("electricitymaps_files", f.electricitymaps_files)}
        mapping = tables.get(f.carbon)
        if mapping is None:
            return
        key, table = mapping
        unknown = sorted(set(table) - set(region_names))
        if unknown:
            raise ValueError(f"[forecast] {key} names unknown regions {unknown}; regions are {region_names}")
        unmapped = sorted({s.region for s in self.sites} - set(table))
        if unmapped:
            raise ValueError(
                f"[forecast] carbon = {f.carbon!r} but {key} has no entry for regions {unmapped} used by sites; "
                f"add them (e.g. {key} = {{ {unmapped[0]} = ... }}) or use carbon = 'constant'"
            )
        if self.accounting.factor_file is not None:
            raise ValueError(
                f"[forecast] carbon = {f.carbon!r} and [accounting] factor_file = {str(self.accounting.factor_file)!r} "
                "both set the intensity the simulation counts; keep one"
            )

    def site(self, name: str) -> SiteSettings:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(f"unknown site {name!r}; sites are {[s.name for s in self.sites]}")

    def region(self, name: str) -> RegionSettings:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(f"unknown region {name!r}; regions are {[r.name for r in self.regions]}")

    @property
    def site_names(self) -> list[str]:
        return [s.name for s in self.sites]
