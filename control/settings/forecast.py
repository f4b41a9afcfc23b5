"""Settings of the ``[forecast]`` table: which forecasts the controller decides on, and where the
hourly grid carbon intensity of each region comes from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from control.settings.base import ConfigPath, FrozenModel

ChinaRegion = Literal["North", "Northeast", "East", "Central", "Northwest", "South", "Southwest"]


class ForecastSettings(FrozenModel):
    """``[forecast]``: the forecast method (see ``forecasts/as_issued.py``) and the carbon source."""

    method: Literal["perfect", "as_issued", "persistence", "feeds"] = "perfect"
    """``perfect`` hands the controller the actual weather (the upper bound of forecast quality);
    ``as_issued`` = the actual series plus a forecast error with the statistics of real forecasts
    (GEFCom 2012 NWP wind errors, State Grid solar errors; carbon: the carbon blend on the
    observed series), with P10/P50/P90 from conformal quantiles of past errors
    (``forecasts/synthetic.py``, ``docs/forecast_errors.md``); ``persistence`` forecasts from
    observations before each step only (smart persistence of the clear-sky index for PV,
    persistence blended into the recent mean for wind, same hour yesterday for carbon); ``feeds``
    plans on the NWP and carbon feeds of ``[feeds]`` and settles on the sites' meters (a live
    deployment, or a recorded period given to ``codispatch simulate``)."""
    history_days: int = Field(default=7, ge=1, le=60)
    """Days of past observations behind the climatologies [d]."""
    quantile_window_days: int = Field(default=28, ge=2, le=365)
    """``as_issued``: days of past forecast errors behind the conformal quantiles [d]."""
    error_seed: int = Field(default=0, ge=0)
    """``as_issued``: seed of the forecast-error innovations (same seed, same forecasts)."""
    pv_persistence_h: float = Field(default=4.0, gt=0)
    """Lead time over which the PV forecast moves from the current clear-sky index to its recent mean [h]."""
    wind_persistence_h: float = Field(default=6.0, gt=0)
    """Lead time over which the wind forecast moves from the last hour to the recent mean [h]."""
    carbon: Literal["constant", "china_model", "electricitymaps"] = "constant"
    """Hourly grid carbon intensity per region: ``constant`` = the region's ``emission_factor_kg_per_kwh``;
    ``china_model`` = the hourly AVERAGE (not marginal) model of ``forecasts/carbon_china.py`` for
    the regional grid named in ``china_regions``; ``electricitymaps`` = the zone file named in
    ``electricitymaps_files``. Both are typical-year profiles (see ``forecasts/carbon_sources.py``).
    Every region a site uses must be mapped. The simulation settles on this series, and as-issued
    forecasts see only its past."""
    china_scale_to_region_factor: bool = True
    """Keep the regional model's hourly shape but rescale it so its annual mean equals the config
    region's ``emission_factor_kg_per_kwh`` (e.g. a province inside the regional grid); ``false``
    uses the regional grid's own level."""
    china_regions: dict[str, ChinaRegion] = Field(default_factory=dict)
    """Config region name -> Chinese regional grid (e.g. ``{ west = "Northwest" }``)."""
    china_data_dir: ConfigPath | None = None
    """Directory of the PyPSA-China demand and capacity files (``../shared/data/grid/china``)."""
    china_weather_dir: ConfigPath | None = None
    """Directory of the CSWD EPW files (``../shared/data/weather/cswd``)."""
    electricitymaps_files: dict[str, ConfigPath] = Field(default_factory=dict)
    """Config region name -> Electricity Maps hourly CSV(.gz)."""

    @model_validator(mode="after")
    def _source_complete(self) -> ForecastSettings:
        if self.carbon == "china_model":
            missing = [n for n in ("china_data_dir", "china_weather_dir") if getattr(self, n) is None]
            if missing or not self.china_regions:
                raise ValueError(
                    f"[forecast] carbon = 'china_model' needs china_regions (got {self.china_regions}), "
                    f"china_data_dir and china_weather_dir (missing: {missing}); set them or use carbon = 'constant'"
                )
        if self.carbon == "electricitymaps" and not self.electricitymaps_files:
            raise ValueError("[forecast] carbon = 'electricitymaps' needs electricitymaps_files = { region = 'path' }")
        return self
