"""Wind farm power from weather with windpowerlib power curves.

Met-station wind is measured at 10 m; it is extrapolated to hub height with the logarithmic
profile (roughness length from the site), converted with the turbine's power curve from
windpowerlib's bundled turbine library (offline), scaled to the farm's capacity and reduced by a
farm (wake and availability) efficiency.

References
----------
Haas, S., Krien, U., Schachler, B., et al. (2024). wind-python/windpowerlib. Zenodo.
Manwell, McGowan, Rogers (2009). Wind Energy Explained, 2nd ed., section 2.3 (log law).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from windpowerlib import WindTurbine
from windpowerlib.power_output import power_curve
from windpowerlib.tools import WindpowerlibUserWarning
from windpowerlib.wind_speed import logarithmic_profile

from forecasts.errors import ForecastInputError

logger = logging.getLogger(__name__)


class TurbineNotFoundError(ForecastInputError, KeyError):
    """The turbine type is not in windpowerlib's bundled library."""


@dataclass(frozen=True)
class WindFarm:
    """A wind farm made of one turbine type."""

    capacity_mw: float
    turbine_type: str = "E-126/4200"
    hub_height_m: float = 120.0
    farm_efficiency: float = 0.9
    roughness_length_m: float = 0.1
    """Surface roughness around the met station [m] (0.1: farmland with few obstacles)."""


@functools.lru_cache(maxsize=32)
def turbine_curve(turbine_type: str, hub_height_m: float) -> tuple[float, pd.DataFrame]:
    """Nominal power [W] and power curve (``wind_speed`` [m/s], ``value`` [W]) of a library turbine."""
    try:
        with warnings.catch_warnings():  # windpowerlib warns of an unknown type; the error below names it
            warnings.simplefilter("ignore", WindpowerlibUserWarning)
            turbine = WindTurbine(turbine_type=turbine_type, hub_height=hub_height_m)
    except (KeyError, ValueError) as exc:
        raise TurbineNotFoundError(
            f"turbine type {turbine_type!r} is not in windpowerlib's turbine library; "
            "see windpowerlib.get_turbine_types() for the names (e.g. 'E-126/4200', 'V126/3300')"
        ) from exc
    if turbine.power_curve is None or turbine.nominal_power is None:
        raise TurbineNotFoundError(
            f"turbine type {turbine_type!r} is not in windpowerlib's turbine library with a power curve; "
            "see windpowerlib.get_turbine_types() for the names (e.g. 'E-126/4200', 'V126/3300')")
    return float(turbine.nominal_power), turbine.power_curve.copy()


def hub_wind_speed_m_per_s(wind_10m_m_per_s: pd.Series, hub_height_m: float, roughness_length_m: float) -> pd.Series:
    """Wind speed at hub height from 10 m measurements, logarithmic profile."""
    values = logarithmic_profile(wind_10m_m_per_s, 10.0, hub_height_m, roughness_length_m)
    return pd.Series(np.asarray(values, dtype=float), index=wind_10m_m_per_s.index)


def wind_power_mw(farm: WindFarm, weather: pd.DataFrame) -> pd.Series:
    """Farm power for each hour of ``weather`` [MW], from ``wind_speed_10m_m_per_s``."""
    if farm.capacity_mw == 0:
        return pd.Series(0.0, index=weather.index, name="wind_mw")
    nominal_w, curve = turbine_curve(farm.turbine_type, farm.hub_height_m)
    hub = hub_wind_speed_m_per_s(weather["wind_speed_10m_m_per_s"], farm.hub_height_m, farm.roughness_length_m)
    per_turbine_w = power_curve(hub, curve["wind_speed"], curve["value"])
    per_unit = np.clip(np.asarray(per_turbine_w, dtype=float) / nominal_w, 0.0, 1.0)
    power = per_unit * farm.capacity_mw * farm.farm_efficiency
    return pd.Series(power, index=weather.index, name="wind_mw")
