"""Open-Meteo forecast / historical-forecast JSON -> canonical hourly weather (UTC interval starts).

Format (Open-Meteo Weather Forecast API, https://open-meteo.com/en/docs, and Historical Forecast
API, https://open-meteo.com/en/docs/historical-forecast-api): a JSON object with
``utc_offset_seconds``, ``timezone``, ``hourly_units`` and ``hourly`` = parallel arrays, ``time``
plus one array per requested variable. ``time`` is ISO-8601 local time of ``timezone`` (no offset
written; ``utc_offset_seconds`` gives it) or, with ``timeformat=unixtime``, UTC epoch seconds.

Conventions of the variables used here (from the same documentation):

- ``shortwave_radiation`` (GHI), ``direct_normal_irradiance`` (DNI), ``diffuse_radiation`` (DHI)
  [W/m²]: mean of the PRECEDING hour; the value labelled ``T`` is moved to the interval starting
  ``T - 1 h`` (this package's index is interval starts).
- ``temperature_2m`` [°C or °F], ``wind_speed_10m`` / ``wind_speed_80m`` / ``wind_speed_100m``
  [km/h by default, or m/s, mph, kn with ``wind_speed_unit``]: instantaneous at ``T``; used for the
  interval starting at ``T``.

A CSV drop file carries the same data: columns ``time`` (ISO-8601 WITH offset, e.g.
``2023-07-03T00:00+08:00``) and the Open-Meteo variable names as columns, in °C, m/s and W/m²,
radiation as preceding-hour means like the JSON (documented in docs/operations.md).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.feeds.errors import FeedError
from forecasts.solar import PvPlant, pv_power_mw
from forecasts.wind import WindFarm, turbine_curve

logger = logging.getLogger(__name__)

REQUIRED = ("temperature_2m", "shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation",
            "wind_speed_10m")
OPTIONAL = ("wind_speed_80m", "wind_speed_100m")
HOURLY_VARIABLES = REQUIRED + OPTIONAL
"""What to ask for: ``hourly=temperature_2m,shortwave_radiation,...``."""

VARIABLE_MAP = {
    "temperature_2m": "temp_air_c",
    "shortwave_radiation": "ghi_w_per_m2",
    "direct_normal_irradiance": "dni_w_per_m2",
    "diffuse_radiation": "dhi_w_per_m2",
    "wind_speed_10m": "wind_speed_10m_m_per_s",
    "wind_speed_80m": "wind_speed_80m_m_per_s",
    "wind_speed_100m": "wind_speed_100m_m_per_s",
}
"""Open-Meteo variable -> canonical column (unit in the name)."""

_RADIATION = ("shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation")
_WIND_TO_M_PER_S = {"km/h": 1 / 3.6, "m/s": 1.0, "mp/h": 0.44704, "mph": 0.44704, "kn": 0.514444, "knots": 0.514444}
_PLAUSIBLE = {"temp_air_c": (-80.0, 60.0), "ghi_w_per_m2": (0.0, 1500.0), "dni_w_per_m2": (0.0, 1500.0),
              "dhi_w_per_m2": (0.0, 1000.0), "wind_speed_10m_m_per_s": (0.0, 80.0),
              "wind_speed_80m_m_per_s": (0.0, 100.0), "wind_speed_100m_m_per_s": (0.0, 100.0)}


def _to_si(variable: str, values: np.ndarray, unit: str | None) -> np.ndarray:
    if variable == "temperature_2m":
        if unit in (None, "°C", "degC", "C"):
            return values
        if unit in ("°F", "degF", "F"):
            return (values - 32.0) * 5.0 / 9.0
    elif variable.startswith("wind_speed"):
        factor = _WIND_TO_M_PER_S.get(unit or "m/s")
        if factor is not None:
            return values * factor
    elif unit in (None, "W/m²", "W/m2", "W m-2"):
        return values
    raise FeedError("nwp_malformed", f"Open-Meteo {variable} has unit {unit!r}, which codispatch cannot convert; "
                    "request the defaults (°C, W/m²) and km/h or wind_speed_unit=ms")


def _utc_times(raw: list, utc_offset_s: int) -> pd.DatetimeIndex:
    if raw and isinstance(raw[0], (int, float)):
        return pd.DatetimeIndex(pd.to_datetime(np.asarray(raw, dtype="int64"), unit="s", utc=True))
    stamps = pd.DatetimeIndex(pd.to_datetime(raw))
    if stamps.tz is not None:
        return stamps.tz_convert("UTC")
    return (stamps - pd.Timedelta(seconds=utc_offset_s)).tz_localize("UTC")


def parse_open_meteo(payload: object) -> pd.DataFrame:
    """Canonical hourly weather from an Open-Meteo response (see the module notes).

    Returns
    -------
    pandas.DataFrame
        UTC interval-start index (hourly, sorted, unique), columns of :data:`VARIABLE_MAP` that the
        response has (NaN where a radiation value of the next label is not in the response).

    Raises
    ------
    FeedError
        ``nwp_malformed``: not the format, a required variable missing, arrays of unequal length,
        a unit that cannot be converted, non-numeric or implausible values, times not hourly or
        repeated.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("hourly"), dict):
        raise FeedError("nwp_malformed", "Open-Meteo response has no 'hourly' object; request hourly=" +
                        ",".join(HOURLY_VARIABLES))
    hourly = payload["hourly"]
    units = payload.get("hourly_units") or {}
    if "time" not in hourly:
        raise FeedError("nwp_malformed", "Open-Meteo 'hourly' has no 'time' array")
    missing = [v for v in REQUIRED if v not in hourly]
    if missing:
        raise FeedError("nwp_malformed", f"Open-Meteo response lacks hourly {missing}; request hourly=" +
                        ",".join(HOURLY_VARIABLES))
    offset = payload.get("utc_offset_seconds")
    if not isinstance(offset, (int, float)) or abs(offset) > 14 * 3600:
        raise FeedError("nwp_malformed", f"Open-Meteo utc_offset_seconds = {offset!r}; the response must give the "
                        "offset of its local times in seconds")
    raw_times = hourly["time"]
    try:
        times = _utc_times(list(raw_times), int(offset))
    except (ValueError, TypeError) as exc:
        raise FeedError("nwp_malformed", f"Open-Meteo 'time' values are not ISO-8601 or unixtime ({exc})") from None
    if len(times) < 2 or times.has_duplicates or not (np.diff(times.asi8) == 3_600_000_000_000).all():
        raise FeedError("nwp_malformed", f"Open-Meteo 'time' has {len(times)} values that are not consecutive hours "
                        "(repeated, gapped or unsorted); ask for hourly data")
    columns = {}
    for variable in (v for v in HOURLY_VARIABLES if v in hourly):
        values = hourly[variable]
        if not isinstance(values, list) or len(values) != len(times):
            raise FeedError("nwp_malformed", f"Open-Meteo hourly {variable} has {len(values) if isinstance(values, list) else '?'} "
                            f"values for {len(times)} times")
        try:
            array = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        except (TypeError, ValueError):
            raise FeedError("nwp_malformed", f"Open-Meteo hourly {variable} has non-numeric values") from None
        columns[VARIABLE_MAP[variable]] = pd.Series(_to_si(variable, array, units.get(variable)), index=times)
    for variable in _RADIATION:  # preceding-hour means -> interval starts
        name = VARIABLE_MAP[variable]
        columns[name] = columns[name].shift(-1)
    frame = pd.DataFrame(columns)
    for name, (low, high) in _PLAUSIBLE.items():
        if name in frame:
            values = frame[name].dropna()
            bad = (values < low) | (values > high)
            if bad.any():
                raise FeedError("nwp_malformed", f"Open-Meteo {name} has {int(bad.sum())} values outside [{low}, {high}] "
                                f"(first at {values.index[bad.to_numpy()][0]}); check the units")
    return frame


def read_open_meteo_csv(text: str) -> pd.DataFrame:
    """The documented CSV drop format -> the same frame as :func:`parse_open_meteo`."""
    try:
        table = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        raise FeedError("nwp_malformed", f"NWP CSV cannot be read ({exc})") from None
    if "time" not in table:
        raise FeedError("nwp_malformed", "NWP CSV has no 'time' column (ISO-8601 with offset)")
    try:
        times = pd.DatetimeIndex(pd.to_datetime(table["time"], utc=False, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise FeedError("nwp_malformed", f"NWP CSV 'time' is not ISO-8601 ({exc})") from None
    if times.tz is None:
        raise FeedError("nwp_malformed", "NWP CSV times have no UTC offset; write them as e.g. 2023-07-03T00:00+08:00")
    hourly = {"time": list(times.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M"))}
    hourly |= {v: [None if pd.isna(x) else float(x) for x in table[v]] for v in HOURLY_VARIABLES if v in table}
    units = {"temperature_2m": "°C"} | {v: "m/s" for v in HOURLY_VARIABLES if v.startswith("wind")}
    return parse_open_meteo({"utc_offset_seconds": 0, "hourly": hourly, "hourly_units": units})


@dataclass(frozen=True)
class SitePlants:
    """What turns one site's weather into power."""

    pv: PvPlant
    wind: WindFarm


def hub_wind_m_per_s(weather: pd.DataFrame, hub_height_m: float, roughness_length_m: float) -> pd.Series:
    """Wind speed at hub height: log profile from the highest NWP level the forecast has (100, 80
    or 10 m), so a 100 m forecast is barely extrapolated."""
    for height, column in ((100.0, "wind_speed_100m_m_per_s"), (80.0, "wind_speed_80m_m_per_s"),
                           (10.0, "wind_speed_10m_m_per_s")):
        if column in weather and weather[column].notna().all():
            ratio = np.log(hub_height_m / roughness_length_m) / np.log(height / roughness_length_m)
            return weather[column] * ratio
    raise FeedError("nwp_partial", "NWP has no complete wind speed column (10, 80 or 100 m)")


def site_power_mw(plants: SitePlants, weather: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """PV (pvlib chain of :func:`forecasts.solar.pv_power_mw`) and wind (windpowerlib power curve)
    of one site on the weather's hours [MW]."""
    pv = pv_power_mw(plants.pv, weather) if plants.pv.capacity_dc_mw > 0 else pd.Series(0.0, index=weather.index)
    farm = plants.wind
    if farm.capacity_mw == 0:
        wind = pd.Series(0.0, index=weather.index)
    else:
        from windpowerlib.power_output import power_curve

        nominal_w, curve = turbine_curve(farm.turbine_type, farm.hub_height_m)
        hub = hub_wind_m_per_s(weather, farm.hub_height_m, farm.roughness_length_m)
        per_unit = np.clip(np.asarray(power_curve(hub, curve["wind_speed"], curve["value"]), dtype=float) / nominal_w,
                           0.0, 1.0)
        wind = pd.Series(per_unit * farm.capacity_mw * farm.farm_efficiency, index=weather.index)
    return pv.rename("pv_mw"), wind.rename("wind_mw")
