"""forecasts/wind.py: the log-law hub speed and the library power curve, against reference values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasts.errors import ForecastInputError
from forecasts.wind import TurbineNotFoundError, WindFarm, hub_wind_speed_m_per_s, turbine_curve, wind_power_mw

INDEX = pd.date_range("2023-07-01", periods=6, freq="h", tz="UTC")


def test_log_law_by_hand() -> None:
    v10 = pd.Series([2.0, 5.0, 8.0], index=INDEX[:3])
    hub = hub_wind_speed_m_per_s(v10, hub_height_m=120.0, roughness_length_m=0.1)
    expected = v10 * math.log(120.0 / 0.1) / math.log(10.0 / 0.1)  # Manwell et al. eq. 2.3.3
    np.testing.assert_allclose(hub.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_power_curve_points_cut_in_rated_and_efficiency() -> None:
    farm = WindFarm(capacity_mw=42.0, turbine_type="E-126/4200", hub_height_m=120.0, farm_efficiency=0.9,
                    roughness_length_m=0.1)
    nominal_w, curve = turbine_curve(farm.turbine_type, farm.hub_height_m)
    assert nominal_w == pytest.approx(4.2e6)
    factor = math.log(120.0 / 0.1) / math.log(10.0 / 0.1)
    # 10 m speeds that reach the hub exactly at points of the curve
    points = curve[(curve["wind_speed"] >= 3) & (curve["wind_speed"] <= 10)].iloc[::2]
    weather = pd.DataFrame({"wind_speed_10m_m_per_s": points["wind_speed"].to_numpy() / factor},
                           index=pd.date_range("2023-07-01", periods=len(points), freq="h", tz="UTC"))
    power = wind_power_mw(farm, weather)
    np.testing.assert_allclose(power.to_numpy(), points["value"].to_numpy() / nominal_w * 42.0 * 0.9, rtol=1e-9)
    calm_and_gale = pd.DataFrame({"wind_speed_10m_m_per_s": [0.0, 1.0, 11.0, 13.0]}, index=INDEX[:4])
    power = wind_power_mw(farm, calm_and_gale).to_numpy()
    assert power[0] == power[1] == 0.0  # below cut-in (1 m/s at 10 m is 1.5 m/s at the hub)
    assert power[2] == pytest.approx(42.0 * 0.9) and power[3] == pytest.approx(42.0 * 0.9)  # rated, times efficiency


def test_monotone_below_rated_and_zero_capacity() -> None:
    speeds = pd.DataFrame({"wind_speed_10m_m_per_s": np.linspace(0, 8, 40)},
                          index=pd.date_range("2023-07-01", periods=40, freq="h", tz="UTC"))
    power = wind_power_mw(WindFarm(capacity_mw=10.0), speeds).to_numpy()
    assert (np.diff(power) >= -1e-12).all() and power.max() <= 10.0 * 0.9 + 1e-9
    assert (wind_power_mw(WindFarm(capacity_mw=0.0), speeds) == 0.0).all()


def test_unknown_turbine_is_a_forecast_input_error() -> None:
    with pytest.raises(TurbineNotFoundError, match="not in windpowerlib's turbine library") as info:
        turbine_curve("No-Such/1", 100.0)
    assert isinstance(info.value, ForecastInputError) and isinstance(info.value, KeyError)
