"""Repair-or-reject rules shared by the readers of real measurement files.

Every reader in ``forecasts/`` calls these functions at its edge, so a bad file is either
repaired by one of the rules below (and the repair is logged and counted) or rejected with a
:class:`DataQualityError` that names the value received, what is allowed and the fix. Nothing is
used silently.

Rules
-----
R1 naive timestamps
    A file's timestamps are converted to UTC only with the file's documented offset (the reader
    passes it). :func:`require_utc` rejects a naive index anywhere downstream.
R2 duplicated timestamps
    Rejected (two values for one instant cannot be repaired without guessing).
R3 missing rows
    The index is completed to the file's regular step; the new rows are NaN (counted).
R4 NaN and short gaps
    Gaps of at most ``max_fill_steps`` consecutive steps are filled by linear interpolation in time;
    longer gaps stay NaN and are counted; scores skip them (and the days they touch are flagged).
R5 unit mistakes (kW given as MW)
    When the capacity is known and the largest power exceeds ``KW_FACTOR_THRESHOLD`` times the
    capacity, the column is taken to be in kW and divided by 1000 (logged). A largest value
    between 1.3 and 20 capacities is rejected: no unit explains it.
R6 negative power
    Values down to -2 % of capacity (inverter night consumption, meter offsets) are clipped to 0;
    more negative values are rejected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasts.errors import ForecastInputError

logger = logging.getLogger(__name__)

KW_FACTOR_THRESHOLD = 20.0
"""A maximum above this many capacities means the column is in kW, not MW."""
OVER_CAPACITY_TOLERANCE = 1.3
"""Largest plausible power / capacity (measurement noise, overrated nameplates)."""
NEGATIVE_TOLERANCE = 0.02
"""Negative power down to this fraction of capacity is clipped to zero."""


class DataQualityError(ForecastInputError):
    """An input file has a defect that no documented rule repairs."""


@dataclass
class RepairLog:
    """What the repair rules did to one file (counts of affected rows)."""

    source: str
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, rule: str, n: int) -> None:
        if n:
            self.counts[rule] = self.counts.get(rule, 0) + int(n)
            logger.info("%s: %s applied to %d rows", self.source, rule, n)


def require_utc(index: pd.Index, what: str) -> None:
    """Reject an index that is not timezone-aware (rule R1)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise DataQualityError(f"{what}: index is {type(index).__name__}, expected a DatetimeIndex in UTC")
    if index.tz is None:
        raise DataQualityError(
            f"{what}: timestamps are naive (first {index[0]}); localise them with the file's offset "
            "(e.g. index.tz_localize('Etc/GMT-8') for UTC+8) and convert to UTC"
        )


def local_to_utc(naive: pd.Series, utc_offset_h: float, what: str) -> pd.DatetimeIndex:
    """Parse naive local timestamps with a fixed offset and convert to UTC (rule R1)."""
    times = pd.DatetimeIndex(pd.to_datetime(naive, errors="coerce"))
    if times.isna().any():
        bad = naive[np.asarray(times.isna())].iloc[0]
        raise DataQualityError(f"{what}: timestamp {bad!r} cannot be parsed; expected e.g. '2019-01-01 00:15:00'")
    if times.tz is not None:
        return times.tz_convert("UTC")
    return (times - pd.Timedelta(hours=utc_offset_h)).tz_localize("UTC")


def regularise(frame: pd.DataFrame, step: str, log: RepairLog, max_fill_steps: int) -> pd.DataFrame:
    """Rules R2-R4: reject duplicates, complete the index, fill short gaps."""
    require_utc(frame.index, log.source)
    duplicated = frame.index.duplicated()
    if duplicated.any():
        raise DataQualityError(
            f"{log.source}: {int(duplicated.sum())} duplicated timestamps (first "
            f"{frame.index[duplicated][0]}); remove the duplicates from the file"
        )
    frame = frame.sort_index()
    full = pd.date_range(frame.index[0], frame.index[-1], freq=step)
    log.add("R3 missing rows inserted", len(full) - len(frame))
    frame = frame.reindex(full)
    before = int(frame.isna().sum().sum())
    if max_fill_steps <= 0:
        log.add("R4 gaps left as NaN", before)
        return frame
    filled = frame.interpolate(method="time", limit=max_fill_steps, limit_area="inside")
    log.add("R4 short gaps interpolated", before - int(filled.isna().sum().sum()))
    log.add("R4 long gaps left as NaN", int(filled.isna().sum().sum()))
    return filled


def fix_power_units(power: pd.Series, capacity_mw: float | None, log: RepairLog) -> pd.Series:
    """Rules R5-R6 for a power column that should be in MW."""
    if capacity_mw is None:
        return power
    if capacity_mw <= 0:
        raise DataQualityError(f"{log.source}: capacity {capacity_mw} MW; give a positive capacity in MW")
    peak = float(np.nanmax(power.to_numpy())) if power.notna().any() else 0.0
    if peak > KW_FACTOR_THRESHOLD * capacity_mw:
        log.add("R5 kW converted to MW", int(power.notna().sum()))
        power = power / 1000.0
    elif peak > OVER_CAPACITY_TOLERANCE * capacity_mw:
        raise DataQualityError(
            f"{log.source}: largest power {peak:.3f} is {peak / capacity_mw:.2f}x the capacity {capacity_mw} MW; "
            f"allowed up to {OVER_CAPACITY_TOLERANCE}x (or above {KW_FACTOR_THRESHOLD}x, read as kW); "
            "check the capacity or the unit of the power column"
        )
    low = float(np.nanmin(power.to_numpy())) if power.notna().any() else 0.0
    if low < -NEGATIVE_TOLERANCE * capacity_mw:
        raise DataQualityError(
            f"{log.source}: power {low:.3f} MW is below -{NEGATIVE_TOLERANCE:.0%} of capacity; "
            "power must be generation (>= 0); check the sign convention of the file"
        )
    log.add("R6 small negatives clipped", int((power < 0).sum()))
    return power.clip(lower=0.0)
