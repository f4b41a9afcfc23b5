"""PV plant power from weather with pvlib (PVWatts chain).

Chain: solar position at the middle of each hour -> plane-of-array irradiance (Hay-Davies
transposition) -> cell temperature (SAPM open-rack model) -> PVWatts DC -> system losses ->
PVWatts inverter with clipping at the AC rating.

References
----------
Dobos, A. P. (2014). PVWatts Version 5 Manual. NREL/TP-6A20-62641.
Holmgren, W. F., Hansen, C. W., Mikofski, M. A. (2018). pvlib python. JOSS 3(29), 884.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PvPlant:
    """A PV plant: location, orientation and ratings."""

    latitude: float
    longitude: float
    altitude_m: float
    capacity_dc_mw: float
    """DC nameplate [MWp]."""
    tilt_deg: float = 25.0
    azimuth_deg: float = 180.0
    dc_ac_ratio: float = 1.2
    losses_pct: float = 14.0
    """PVWatts default system losses (soiling, wiring, mismatch, availability...) [%]."""
    gamma_pdc_per_c: float = -0.0035
    """Temperature coefficient of DC power [1/degC]."""

    @property
    def capacity_ac_mw(self) -> float:
        return self.capacity_dc_mw / self.dc_ac_ratio


def pv_power_mw(plant: PvPlant, weather: pd.DataFrame) -> pd.Series:
    """AC power of ``plant`` for each hour of ``weather`` [MW].

    Parameters
    ----------
    plant
        The plant.
    weather
        Canonical weather indexed by UTC hour starts, with ``ghi_w_per_m2``, ``dni_w_per_m2``,
        ``dhi_w_per_m2`` [W/m2], ``temp_air_c`` [degC] and ``wind_speed_10m_m_per_s`` [m/s].

    Returns
    -------
    pandas.Series
        Mean AC power over each hour [MW], >= 0, <= AC rating.
    """
    if plant.capacity_dc_mw == 0:
        return pd.Series(0.0, index=weather.index, name="pv_mw")
    mid = weather.index + pd.Timedelta(minutes=30)
    location = pvlib.location.Location(plant.latitude, plant.longitude, altitude=plant.altitude_m)
    solpos = location.get_solarposition(mid)
    dni_extra = pvlib.irradiance.get_extra_radiation(mid)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=plant.tilt_deg,
        surface_azimuth=plant.azimuth_deg,
        solar_zenith=solpos["apparent_zenith"].to_numpy(),
        solar_azimuth=solpos["azimuth"].to_numpy(),
        dni=weather["dni_w_per_m2"].to_numpy(),
        ghi=weather["ghi_w_per_m2"].to_numpy(),
        dhi=weather["dhi_w_per_m2"].to_numpy(),
        dni_extra=dni_extra.to_numpy(),
        model="haydavies",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float), nan=0.0).clip(min=0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    temp_cell = pvlib.temperature.sapm_cell(
        poa_global, weather["temp_air_c"].to_numpy(), weather["wind_speed_10m_m_per_s"].to_numpy(), **params
    )
    pdc0_w = plant.capacity_dc_mw * 1e6
    dc_w = pvlib.pvsystem.pvwatts_dc(poa_global, temp_cell, pdc0_w, plant.gamma_pdc_per_c)
    dc_w = np.asarray(dc_w) * (1 - plant.losses_pct / 100.0)
    ac_w = pvlib.inverter.pvwatts(dc_w, pdc0_w / plant.dc_ac_ratio)
    ac_mw = np.clip(np.nan_to_num(np.asarray(ac_w, dtype=float) / 1e6), 0.0, plant.capacity_ac_mw)
    return pd.Series(ac_mw, index=weather.index, name="pv_mw")


def clearsky_weather(plant: PvPlant, weather: pd.DataFrame) -> pd.DataFrame:
    """``weather`` with its irradiance replaced by a clear sky (simplified Solis, pvlib defaults:
    aerosol optical depth 0.1, 1 cm precipitable water) at the middle of each hour.

    Temperature and wind speed are kept (they only enter through the cell temperature), so
    ``pv_power_mw(plant, clearsky_weather(plant, weather))`` is the plant's clear-sky power.
    """
    mid = weather.index + pd.Timedelta(minutes=30)
    location = pvlib.location.Location(plant.latitude, plant.longitude, altitude=plant.altitude_m)
    clear = location.get_clearsky(mid, model="simplified_solis")
    out = weather.copy()
    out["ghi_w_per_m2"] = clear["ghi"].fillna(0.0).to_numpy()
    out["dni_w_per_m2"] = clear["dni"].fillna(0.0).to_numpy()
    out["dhi_w_per_m2"] = clear["dhi"].fillna(0.0).to_numpy()
    return out
