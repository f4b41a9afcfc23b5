"""Readers for the GEFCom 2012 wind track (Hong, Pinson, Fan 2014, Int. J. Forecasting 30, 357).

Layout
------
``train_wp1-4.csv``: ``date`` as YYYYMMDDHH, then ``wp1`` .. ``wp4``, power normalised by farm
capacity (0-1). The record has holes: from 2011 on the competition withheld 48-hour blocks
(its test periods); they stay NaN here and are never scored.
``windforecasts_wfN.csv``: ``date`` (issue time, YYYYMMDDHH, every 12 h), ``hors`` (1-48 hours
ahead), ``u``, ``v`` [m/s], ``ws`` [m/s], ``wd`` [deg] at 10 m.

Conventions (stated, the competition does not publish them): times are treated as UTC; a power
value labelled ``H`` is the mean of the hour *ending* at ``H`` (known at ``H``), so it is stored on
the interval start ``H - 1h``; a forecast issued at ``date`` with ``hors = h`` is for the power
labelled ``date + h``, i.e. interval start ``date + (h - 1) h``. Persistence at an issue time
uses the power labelled with the issue time (interval start issue - 1 h), the last value known.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.quality import DataQualityError, RepairLog, regularise
from forecasts.readable import names_file

logger = logging.getLogger(__name__)

POWER_VARIABLE_MAP = {"wp1": "p_pu_1", "wp2": "p_pu_2", "wp3": "p_pu_3", "wp4": "p_pu_4",
                      "wp5": "p_pu_5", "wp6": "p_pu_6", "wp7": "p_pu_7"}
"""Power column -> canonical name (per-unit of farm capacity)."""
NWP_VARIABLE_MAP = {"u": "u_10m_m_per_s", "v": "v_10m_m_per_s", "ws": "wind_speed_10m_m_per_s",
                    "wd": "wind_dir_10m_deg"}
MAX_HORIZON_H = 48


def _parse_yyyymmddhh(values: pd.Series, what: str) -> pd.DatetimeIndex:
    text = values.astype("Int64").astype(str)
    times = pd.to_datetime(text, format="%Y%m%d%H", errors="coerce")
    if times.isna().any():
        bad = values[times.isna().to_numpy()].iloc[0]
        raise DataQualityError(f"{what}: date {bad!r} is not YYYYMMDDHH (e.g. 2009070100)")
    return pd.DatetimeIndex(times).tz_localize("UTC")


@names_file
def read_gefcom_power(path: str | Path) -> tuple[pd.DataFrame, RepairLog]:
    """Read ``train_wp1-4.csv`` into per-unit power, hourly UTC interval starts.

    Values outside [0, 1] beyond 1 % are rejected (the file is per-unit; a value of 30 means MW
    were given); values within 1 % outside are clipped. Missing hours are NaN (rule R3), no
    interpolation: the withheld blocks must not be filled.
    """
    path = Path(path)
    if not path.is_file():
        raise DataQualityError(f"GEFCom power file {path} does not exist; pass --power train_wp1-4.csv(.gz)")
    raw = pd.read_csv(path)
    if "date" not in raw.columns:
        raise DataQualityError(f"{path}: no 'date' column (has {list(raw.columns)}); expected the GEFCom layout")
    columns = [c for c in raw.columns if c in POWER_VARIABLE_MAP]
    if not columns:
        raise DataQualityError(f"{path}: no power columns wp1..wp7 (has {list(raw.columns)})")
    log = RepairLog(str(path))
    frame = raw[columns].rename(columns=POWER_VARIABLE_MAP).astype(float)
    frame.index = _parse_yyyymmddhh(raw["date"], str(path)) - pd.Timedelta(hours=1)
    frame = regularise(frame, "h", log, max_fill_steps=0)
    high, low = float(np.nanmax(frame.to_numpy())), float(np.nanmin(frame.to_numpy()))
    if high > 1.01 or low < -0.01:
        raise DataQualityError(
            f"{path}: power ranges over [{low}, {high}]; GEFCom power is per-unit in [0, 1]; "
            "divide by the farm capacity first"
        )
    log.add("per-unit values clipped to [0, 1]", int(((frame > 1) | (frame < 0)).sum().sum()))
    return frame.clip(0.0, 1.0), log


@names_file
def read_gefcom_nwp(path: str | Path) -> pd.DataFrame:
    """Read ``windforecasts_wfN.csv`` into a long frame of forecasts as issued.

    Returns
    -------
    pandas.DataFrame
        ``issue_time`` (UTC), ``horizon_h`` (1-48), ``valid_start`` (interval start of the power it
        forecasts, UTC) and the canonical NWP columns. Rows with NaN wind speed are dropped
        (counted in the log); duplicated (issue, horizon) pairs are rejected.
    """
    path = Path(path)
    if not path.is_file():
        raise DataQualityError(f"GEFCom NWP file {path} does not exist; pass --nwp windforecasts_wfN.csv(.gz)")
    raw = pd.read_csv(path)
    needed = ["date", "hors", *NWP_VARIABLE_MAP]
    if any(c not in raw.columns for c in needed):
        raise DataQualityError(f"{path}: expected columns {needed}, file has {list(raw.columns)}")
    frame = raw[list(NWP_VARIABLE_MAP)].rename(columns=NWP_VARIABLE_MAP).astype(float)
    frame.insert(0, "issue_time", _parse_yyyymmddhh(raw["date"], str(path)))
    horizon = raw["hors"].astype(int)
    if horizon.min() < 1 or horizon.max() > MAX_HORIZON_H:
        raise DataQualityError(f"{path}: hors ranges {horizon.min()}..{horizon.max()}; allowed 1..{MAX_HORIZON_H}")
    frame.insert(1, "horizon_h", horizon.to_numpy())
    frame.insert(2, "valid_start", frame["issue_time"] + pd.to_timedelta(frame["horizon_h"] - 1, unit="h"))
    if frame.duplicated(["issue_time", "horizon_h"]).any():
        raise DataQualityError(f"{path}: duplicated (date, hors) rows; each forecast must appear once")
    bad = frame["wind_speed_10m_m_per_s"].isna() | (frame["wind_speed_10m_m_per_s"] < 0)
    if bad.any():
        logger.info("%s: %d forecast rows without a valid wind speed dropped", path, int(bad.sum()))
    return frame[~bad].reset_index(drop=True)
