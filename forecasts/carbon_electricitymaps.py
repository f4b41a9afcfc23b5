"""Reader for Electricity Maps hourly zone exports (free data sets, ODbL).

Layout: ``Datetime (UTC)``, ``Country``, ``Zone Name``, ``Zone Id``, ``Carbon Intensity gCO₂eq/kWh
(direct)``, ``Carbon Intensity gCO₂eq/kWh (LCA)``, ``Low Carbon Percentage``, ``Renewable
Percentage``, ``Data Source``, ``Data Estimated``, ``Data Estimation Method``. Hourly, UTC without
offset (the header says UTC, so naive times are localised to UTC here and nowhere else).

The intensities are *average* (consumption-based) intensities of the zone's mix, not marginal.
Rules of :mod:`forecasts.quality` apply; gaps up to 3 hours are interpolated, longer ones stay NaN.
Intensities are rejected when negative or above 2000 g/kWh (kg/kWh given as g would be < 2,
which is also rejected when the zone's mean is below 2).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from forecasts.quality import DataQualityError, RepairLog, regularise
from forecasts.readable import names_file

logger = logging.getLogger(__name__)

TIME_COLUMN = "Datetime (UTC)"
VARIABLE_MAP = {
    "Carbon Intensity gCO₂eq/kWh (direct)": "ci_direct_g_per_kwh",
    "Carbon Intensity gCO₂eq/kWh (LCA)": "ci_lca_g_per_kwh",
    "Low Carbon Percentage": "low_carbon_pct",
    "Renewable Percentage": "renewable_pct",
}
MAX_FILL_STEPS = 3
MAX_CI_G_PER_KWH = 2000.0


@names_file
def read_electricitymaps(path: str | Path) -> tuple[pd.DataFrame, RepairLog]:
    """Read one zone's hourly export; canonical columns, hourly UTC interval starts.

    Also returns ``estimated`` (bool: the value was estimated by Electricity Maps) and the zone id
    in ``frame.attrs["zone"]``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataQualityError(f"Electricity Maps file {path} does not exist")
    raw = pd.read_csv(path)
    needed = [TIME_COLUMN, *VARIABLE_MAP]
    if any(c not in raw.columns for c in needed):
        raise DataQualityError(f"{path}: expected columns {needed}, file has {list(raw.columns)}")
    log = RepairLog(str(path))
    frame = raw[list(VARIABLE_MAP)].rename(columns=VARIABLE_MAP).apply(pd.to_numeric, errors="coerce")
    times = pd.DatetimeIndex(pd.to_datetime(raw[TIME_COLUMN], errors="coerce"))
    if times.isna().any():
        raise DataQualityError(f"{path}: unparseable {TIME_COLUMN!r} values; expected 'YYYY-MM-DD HH:MM:SS'")
    frame.index = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    estimated = raw.get("Data Estimated", pd.Series(False, index=raw.index)).astype(str).str.lower() == "true"
    frame["estimated"] = estimated.to_numpy().astype(float)
    frame = regularise(frame, "h", log, MAX_FILL_STEPS)
    frame["estimated"] = frame["estimated"].fillna(1.0) > 0
    for column in ("ci_direct_g_per_kwh", "ci_lca_g_per_kwh"):
        values = frame[column]
        if (values < 0).any() or (values > MAX_CI_G_PER_KWH).any():
            raise DataQualityError(
                f"{path}: {column} ranges {values.min()}..{values.max()}; allowed 0..{MAX_CI_G_PER_KWH} g/kWh"
            )
        if values.mean() < 2.0:
            raise DataQualityError(f"{path}: {column} mean {values.mean():.3f}; looks like kg/kWh, give g/kWh")
    zone = raw["Zone Id"].iloc[0] if "Zone Id" in raw.columns else path.name.split("_")[0]
    frame.attrs["zone"] = str(zone)
    return frame, log
