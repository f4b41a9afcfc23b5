"""Weather input: EPW typical-year files laid onto a scenario calendar.

EPW rows are hourly with the station's standard-time offset (``TZ`` in the header, UTC+8 for the
China Standard Weather Data). pvlib's :func:`pvlib.iotools.read_epw` labels each row with the
start of its hour in local standard time. A typical year is not a calendar year, so
:func:`weather_on_index` looks each requested UTC hour up by its local month, day and hour.
"""

from __future__ import annotations

import gzip
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

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


class WeatherFileError(ValueError):
    """A weather file is missing, unreadable or has implausible values."""


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
            frame, meta = pvlib.iotools.read_epw(io.StringIO(handle.read()))
    except (OSError, ValueError, IndexError) as exc:
        raise WeatherFileError(f"cannot read {path} as EPW: {exc}") from exc
    data = frame[list(VARIABLE_MAP)].rename(columns=VARIABLE_MAP)
    local = frame.index
    data.index = pd.MultiIndex.from_arrays([local.month, local.day, local.hour], names=["month", "day", "hour"])
    data = data[~data.index.duplicated(keep="first")]
    _check_plausible(data, path)
    return TypicalYear(
        station=str(meta.get("city", path.stem)),
        latitude=float(meta["latitude"]),
        longitude=float(meta["longitude"]),
        altitude_m=float(meta["altitude"]),
        utc_offset_h=float(meta["TZ"]),
        data=data,
    )


def _check_plausible(data: pd.DataFrame, path: Path) -> None:
    if len(data) < 8760:
        raise WeatherFileError(f"{path} has {len(data)} hourly rows; an EPW year needs 8760")
    limits = {
        "ghi_w_per_m2": (0, 1500),
        "dni_w_per_m2": (0, 1500),
        "dhi_w_per_m2": (0, 1000),
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
