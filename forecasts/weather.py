"""Weather input: EPW typical-year files laid onto a scenario calendar.

EPW rows are hourly with the station's standard-time offset (``TZ`` in the header, UTC+8 for the
China Standard Weather Data). pvlib's :func:`pvlib.iotools.read_epw` labels each row with the
start of its hour in local standard time. A typical year is not a calendar year, so
:func:`weather_on_index` looks each requested UTC hour up by its local month, day and hour.

Irradiance quality rule (BSRN, Long & Dutton 2002, "BSRN Global Network recommended QC tests",
V2.0): with ``S_a`` the solar constant at the day's Earth-Sun distance and ``mu0`` the cosine of
the solar zenith angle (its largest value from an hour before to an hour after the interval, a
tolerance for timing conventions; 0 when the sun is down),

====  ==========================================  ===========================================
      physically possible (repaired)              extremely rare (flagged, kept)
====  ==========================================  ===========================================
GHI   -4 .. 1.5 S_a mu0^1.2 + 100                 -2 .. 1.2 S_a mu0^1.2 + 50
DHI   -4 .. 0.95 S_a mu0^1.2 + 50                 -2 .. 0.75 S_a mu0^1.2 + 30
DNI   -4 .. S_a                                   -2 .. 0.95 S_a mu0^0.2 + 10
====  ==========================================  ===========================================

An hour outside the physically possible limits (or missing, e.g. 9999) is repaired: replaced by
linear interpolation between the neighbouring valid hours of the same column, and reported; an
hour outside the extremely-rare limits only is kept and reported. Each report names the file's
own line (1-based, the 8 EPW header lines counted) and the EPW's date and hour field (1-24, the
hour ENDING then). More than :data:`MAX_REPAIRED_SHARE` of a column repaired rejects the file.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from forecasts.readable import names_file
from forecasts.errors import ForecastInputError

logger = logging.getLogger(__name__)

VARIABLE_MAP = {
    "ghi": "ghi_w_per_m2",
    "dni": "dni_w_per_m2",
    "dhi": "dhi_w_per_m2",
    "temp_air": "temp_air_c",
    "wind_speed": "wind_speed_10m_m_per_s",
    "atmospheric_pressure": "pressure_pa",
}
"""pvlib EPW column -> canonical column name (unit in the name)."""


EPW_HEADER_LINES = 8
MAX_REPAIRED_SHARE = 0.01
"""A column with more hours outside the physically possible limits than this is not repaired."""
SOLAR_CONSTANT_W_PER_M2 = 1361.0


class WeatherFileError(ForecastInputError):
    """A weather file is missing, unreadable or has implausible values."""


@dataclass(frozen=True)
class QualityFlag:
    """One irradiance hour the BSRN rule repaired or flagged."""

    line: int
    """Line of the EPW file (1-based, header lines counted)."""
    epw_time: str
    """``YYYY-MM-DD hour H`` as written in the row (H = 1..24, the hour ending)."""
    column: str
    value: float
    limit: float
    action: str
    """``repaired`` (outside the physically possible limit) or ``flagged`` (extremely rare)."""


@dataclass(frozen=True)
class TypicalYear:
    """An hourly typical-year weather record of one station."""

    station: str
    latitude: float
    longitude: float
    altitude_m: float
    utc_offset_h: float
    data: pd.DataFrame
    """Canonical columns, indexed by (month, day, hour) of local standard time, 8760 rows."""
    quality: tuple[QualityFlag, ...] = ()
    """Irradiance hours the BSRN rule repaired or flagged (module docstring)."""


@names_file
def read_epw(path: str | Path) -> TypicalYear:
    """Read an EPW file (plain or gzip-compressed) into canonical columns.

    Raises
    ------
    WeatherFileError
        When the file does not exist, cannot be parsed, or holds impossible values.
    """
    path = Path(path)
    if not path.is_file():
        raise WeatherFileError(f"weather file {path} does not exist; point weather_file at an EPW file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="latin-1") as handle:
            text = handle.read()
        frame, meta = pvlib.iotools.read_epw(io.StringIO(text))
    except (OSError, EOFError, zlib.error, ValueError, IndexError, KeyError, TypeError) as exc:
        hint = ("line 1 must read LOCATION,city,state,country,source,WMO,latitude,longitude,TZ,altitude"
                if isinstance(exc, KeyError) else "replace the file with a complete EPW (plain or .gz)")
        raise WeatherFileError(f"cannot read {path} as EPW ({type(exc).__name__}: {exc}); {hint}") from exc
    location = _location(meta, path)
    raw = frame[list(VARIABLE_MAP)].rename(columns=VARIABLE_MAP)
    if len(raw) < 8760:
        raise WeatherFileError(f"{path} has {len(raw)} hourly rows; an EPW year needs 8760")
    raw, flags = apply_bsrn_rule(raw, frame, location[0], location[1], path)
    data = raw.copy()
    local = frame.index
    data.index = pd.MultiIndex.from_arrays([local.month, local.day, local.hour], names=["month", "day", "hour"])
    data = data[~data.index.duplicated(keep="first")]
    _check_plausible(data, path)
    return TypicalYear(
        station=str(meta.get("city", path.stem)),
        latitude=location[0],
        longitude=location[1],
        altitude_m=location[2],
        utc_offset_h=location[3],
        data=data,
        quality=tuple(flags),
    )


def _location(meta: dict, path: Path) -> tuple[float, float, float, float]:
    """Latitude, longitude, altitude and UTC offset from the EPW LOCATION line, checked."""
    values = []
    for key, low, high in (("latitude", -90, 90), ("longitude", -180, 180), ("altitude", -500, 9000), ("TZ", -12, 14)):
        try:
            value = float(meta[key])
        except (KeyError, TypeError, ValueError):
            value = float("nan")
        if not low <= value <= high:
            raise WeatherFileError(
                f"{path} line 1 (LOCATION): {key} is {meta.get(key)!r}, not a number in [{low}, {high}]; the line must read "
                "LOCATION,city,state,country,source,WMO,latitude,longitude,TZ,altitude"
            )
        values.append(value)
    return values[0], values[1], values[2], values[3]


def bsrn_limits(index: pd.DatetimeIndex, latitude: float, longitude: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Upper BSRN limits per hour of ``index`` (interval starts, tz-aware): ``{column: (possible,
    extremely_rare)}`` [W/m2] (module docstring for the formulas). ``mu0`` is the largest cosine
    of the solar zenith from one hour before the interval to one hour after it: EPW sources differ
    on whether the hour field starts or ends the interval and on clock vs solar time (the CSWD
    files' irradiance peaks about an hour after solar noon), and a limit must not turn a timing
    convention into "impossible" values at sunrise and sunset."""
    mu0 = np.zeros(len(index))
    for minutes in range(-60, 121, 15):  # the hour and one hour either side (timing tolerance)
        mu0 = np.maximum(mu0, _cos_zenith(index + pd.Timedelta(minutes=minutes), latitude, longitude))
    doy = (index + pd.Timedelta(minutes=30)).dayofyear.to_numpy()
    s_a = SOLAR_CONSTANT_W_PER_M2 * (1 + 0.033 * np.cos(2 * np.pi * doy / 365.25))
    return {
        "ghi_w_per_m2": (1.5 * s_a * mu0**1.2 + 100, 1.2 * s_a * mu0**1.2 + 50),
        "dhi_w_per_m2": (0.95 * s_a * mu0**1.2 + 50, 0.75 * s_a * mu0**1.2 + 30),
        "dni_w_per_m2": (s_a, 0.95 * s_a * mu0**0.2 + 10),
    }


def _cos_zenith(times: pd.DatetimeIndex, latitude: float, longitude: float) -> np.ndarray:
    doy = times.dayofyear.to_numpy()
    declination = pvlib.solarposition.declination_spencer71(doy)
    eot = pvlib.solarposition.equation_of_time_spencer71(doy)
    hour_angle = pvlib.solarposition.hour_angle(times, longitude, eot)
    zenith = pvlib.solarposition.solar_zenith_analytical(np.radians(latitude), np.radians(hour_angle), declination)
    return np.clip(np.cos(zenith), 0.0, 1.0)


def apply_bsrn_rule(raw: pd.DataFrame, frame: pd.DataFrame, latitude: float, longitude: float,
                    path: Path) -> tuple[pd.DataFrame, list[QualityFlag]]:
    """Repair irradiance hours outside the BSRN physically possible limits and flag those outside
    the extremely-rare limits (module docstring); one warning per file names the first of each."""
    limits = bsrn_limits(frame.index, latitude, longitude)
    out = raw.copy()
    flags: list[QualityFlag] = []
    for column, (possible, rare) in limits.items():
        values = raw[column].to_numpy(dtype=float)
        impossible = ~np.isfinite(values) | (values < -4) | (values > possible)
        unusual = ~impossible & ((values < -2) | (values > rare))
        if impossible.mean() > MAX_REPAIRED_SHARE:
            first = int(impossible.argmax())
            raise WeatherFileError(
                f"{path}: {column} is outside the BSRN physically possible limits in {int(impossible.sum())} of "
                f"{len(values)} hours (first: line {first + EPW_HEADER_LINES + 1}, {_epw_time(frame, first)}: "
                f"{values[first]}); too many to repair, replace the file"
            )
        for rows, action, bound in ((impossible, "repaired", possible), (unusual, "flagged", rare)):
            for k in np.flatnonzero(rows):
                flags.append(QualityFlag(int(k) + EPW_HEADER_LINES + 1, _epw_time(frame, int(k)), column,
                                         float(values[k]), float(bound[k]), action))
        if impossible.any():
            repaired = pd.Series(np.where(impossible, np.nan, values), index=raw.index)
            out[column] = repaired.interpolate(limit_direction="both").clip(lower=0.0).to_numpy()
    for action in ("repaired", "flagged"):
        chosen = [f for f in flags if f.action == action]
        if chosen:
            f = chosen[0]
            logger.warning(
                "%s: BSRN irradiance rule %s %d hour(s)%s; first: line %d (%s) %s = %g W/m2 above the %s limit %.0f W/m2",
                path, action, len(chosen), " (interpolated from neighbouring hours)" if action == "repaired" else
                " (kept: extremely rare, not impossible)", f.line, f.epw_time, f.column, f.value,
                "physically possible" if action == "repaired" else "extremely rare", f.limit,
            )
    return out, flags


def _epw_time(frame: pd.DataFrame, row: int) -> str:
    """The row's own date and hour fields (EPW hour 1-24 ends the interval)."""
    columns = frame.columns
    if {"year", "month", "day", "hour"} <= set(columns):
        r = frame.iloc[row]
        return f"{int(r['year']):04d}-{int(r['month']):02d}-{int(r['day']):02d} hour {int(r['hour'])}"
    stamp = frame.index[row]
    return f"{stamp:%Y-%m-%d} hour {stamp.hour + 1}"


def _check_plausible(data: pd.DataFrame, path: Path) -> None:
    """Non-irradiance columns (irradiance: the BSRN rule above)."""
    if len(data) < 8760:
        raise WeatherFileError(f"{path} has {len(data)} distinct hours (month, day, hour); an EPW year needs 8760")
    limits = {
        "temp_air_c": (-70, 60),
        "wind_speed_10m_m_per_s": (0, 60),
    }
    for column, (low, high) in limits.items():
        values = data[column]
        bad = values.isna() | (values < low) | (values > high)
        if bad.any():
            first = values.index[bad.to_numpy().argmax()]
            raise WeatherFileError(
                f"{path}: {column} has {int(bad.sum())} values outside [{low}, {high}] "
                f"(first at month/day/hour {first}: {values[first]}); fix or replace the file"
            )


MAX_STATION_DISTANCE_KM = 250.0
"""A weather station farther than this from its site gets a warning (typical-year files are
regional: the default fleet's stations are up to ~140 km from their sites)."""
MAX_TZ_FROM_SOLAR_H = 3.0
"""A file whose time zone differs from the site's solar time (longitude / 15) by more gets a warning."""


def location_mismatch(year: TypicalYear, latitude: float, longitude: float, path: str | Path = "") -> list[str]:
    """Warnings when a weather file's station is far from the site, or its time zone does not fit
    the site's longitude (a file of another region: hours of sun and wind would be misplaced)."""
    lat1, lat2 = np.radians(latitude), np.radians(year.latitude)
    dlat, dlon = lat2 - lat1, np.radians(year.longitude - longitude)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    distance_km = float(2 * 6371.0 * np.arcsin(np.sqrt(min(1.0, a))))
    out = []
    name = path or year.station
    if distance_km > MAX_STATION_DISTANCE_KM:
        out.append(
            f"weather file {name}: station {year.station!r} at ({year.latitude:.2f}, {year.longitude:.2f}) is "
            f"{distance_km:,.0f} km from the site at ({latitude:.2f}, {longitude:.2f}); use the EPW of a station "
            f"within {MAX_STATION_DISTANCE_KM:.0f} km, or check the site's lat/lon"
        )
    solar_h = longitude / 15.0
    if abs(year.utc_offset_h - solar_h) > MAX_TZ_FROM_SOLAR_H:
        out.append(
            f"weather file {name}: its time zone UTC{year.utc_offset_h:+g} is {abs(year.utc_offset_h - solar_h):.1f} h "
            f"from the site's solar time (longitude {longitude:.2f} = UTC{solar_h:+.1f}); the file's hours would be "
            "laid on the wrong UTC hours: use a file for the site's region"
        )
    return out


def weather_on_index(year: TypicalYear, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Weather for each UTC hour of ``index``, looked up by local month, day and hour.

    February 29 takes February 28's values.
    """
    if index.tz is None:
        raise ValueError("index must be timezone-aware (UTC); got naive timestamps")
    local = index.tz_convert("UTC") + pd.Timedelta(hours=year.utc_offset_h)
    day = np.where((local.month == 2) & (local.day == 29), 28, local.day)
    keys = pd.MultiIndex.from_arrays([local.month, day, local.hour])
    values = year.data.reindex(keys)
    values.index = index
    return values
