"""Reader for the State Grid PV plant files (Chen & Xu 2022, Scientific Data 9, 577).

Layout: one CSV (gzip is fine) per plant, 15-minute rows, local time UTC+8 without offset, columns
``Time(year-month-day h:m:s)``, ``Total solar irradiance (W/m2)``, ``Direct normal irradiance
(W/m2)``, ``Global horizontal irradiance (W/m2)``, ``Air temperature  (°C) ``, ``Atmosphere (hpa)``,
``Power (MW)``.

Quirks (checked on both plants, 2019-2020):

- The column labels cannot be taken at face value. On site 1, ``Global horizontal irradiance``
  peaks at about 200 W/m2 on an average noon and correlates with power at 0.65 only, while ``Total
  solar irradiance`` correlates at 0.95 and its ratio to power is flat over the year (an in-plane
  sensor). On site 2, ``Total`` and ``Direct normal`` are the same signal scaled (correlation
  1.000), and the power/``Total`` ratio swings from 100 in summer to 160 in winter (a horizontal
  sensor seen by a tilted array). :mod:`forecasts.solar_calibration` therefore picks the column by
  its correlation with power in the fit year and fits the transposition instead of trusting labels.
- Gaps are sometimes stored as zeros (whole days of zero irradiance with power > 0 on site 2);
  they are flagged per day by :func:`forecasts.solar_calibration.flag_days`, not repaired.
- Site 2 reports about 0.2 MW at night (meter offset); kept, it is < 1 % of daily energy.

The repair-or-reject rules of :mod:`forecasts.quality` apply (R1-R6).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from forecasts.quality import DataQualityError, RepairLog, fix_power_units, local_to_utc, regularise
from forecasts.readable import names_file

logger = logging.getLogger(__name__)

UTC_OFFSET_H = 8.0
"""The files' local time is China Standard Time."""
TIME_COLUMN = "Time(year-month-day h:m:s)"
VARIABLE_MAP = {
    "Total solar irradiance (W/m2)": "total_irradiance_w_per_m2",
    "Direct normal irradiance (W/m2)": "dni_label_w_per_m2",
    "Global horizontal irradiance (W/m2)": "ghi_label_w_per_m2",
    "Air temperature  (°C) ": "temp_air_c",
    "Atmosphere (hpa)": "pressure_hpa",
    "Power (MW)": "p_mw",
}
"""File column -> canonical name. ``*_label_*``: named after the file's label, which is not trusted."""
IRRADIANCE_COLUMNS = ["total_irradiance_w_per_m2", "dni_label_w_per_m2", "ghi_label_w_per_m2"]
MAX_FILL_STEPS = 4
"""Gaps up to one hour (4 x 15 min) are interpolated (rule R4)."""


@names_file
def read_stategrid(path: str | Path, capacity_mw: float | None = None) -> tuple[pd.DataFrame, RepairLog]:
    """Read a State Grid plant file into canonical columns on a 15-minute UTC index.

    Parameters
    ----------
    path
        CSV or CSV.gz in the competition layout.
    capacity_mw
        Nameplate capacity [MW]; enables the unit (kW vs MW) and sign checks.

    Returns
    -------
    frame, log
        Canonical columns (see :data:`VARIABLE_MAP`), UTC 15-min interval starts; the repairs made.

    Raises
    ------
    DataQualityError
        Missing columns, unparseable or duplicated timestamps, impossible power values.
    """
    path = Path(path)
    if not path.is_file():
        raise DataQualityError(f"State Grid file {path} does not exist; pass --measured with a CSV(.gz) path")
    raw = pd.read_csv(path)
    missing = [c for c in [TIME_COLUMN, *VARIABLE_MAP] if c not in raw.columns]
    if missing:
        raise DataQualityError(
            f"{path}: columns {missing} not found (file has {list(raw.columns)}); "
            "expected the State Grid competition layout"
        )
    log = RepairLog(str(path))
    frame = raw[list(VARIABLE_MAP)].rename(columns=VARIABLE_MAP).apply(pd.to_numeric, errors="coerce")
    frame.index = local_to_utc(raw[TIME_COLUMN], UTC_OFFSET_H, str(path))
    frame = regularise(frame, "15min", log, MAX_FILL_STEPS)
    frame["p_mw"] = fix_power_units(frame["p_mw"], capacity_mw, log)
    negative_irr = (frame[IRRADIANCE_COLUMNS] < 0).sum().sum()
    log.add("irradiance negatives clipped", int(negative_irr))
    frame[IRRADIANCE_COLUMNS] = frame[IRRADIANCE_COLUMNS].clip(lower=0.0)
    return frame, log


def to_hourly(frame: pd.DataFrame) -> pd.DataFrame:
    """Hourly means on UTC hour starts; an hour with any NaN quarter is NaN."""
    grouped = frame.resample("h")
    hourly = grouped.mean()
    complete = grouped.count() == 4
    return hourly.where(complete)
