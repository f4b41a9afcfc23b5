"""Site meter readings (SCADA / EMS exports) -> hourly site power [MW], UTC hour starts.

Drop format, CSV (one file per push; any number of sites and intervals)::

    time,site,pv_mw,wind_mw,it_load_mw,grid_import_mw
    2023-07-03T00:00+08:00,zhangjiakou,0.0,2.91,3.10,0.19

or JSON: ``{"site": "zhangjiakou", "readings": [{"time": ..., "pv_mw": ..., ...}, ...]}`` (or a
list of such objects, or a list of readings that each carry ``site``).

``time`` is the START of the metering interval, ISO-8601 WITH a UTC offset; intervals are 15 or
60 minutes (mean power over the interval, MW). An hour is complete when all its intervals are
there (four 15-minute readings or one hourly reading); incomplete hours are not returned, so the
hour waits (``[runtime] settle_max_wait_h``). Sign convention: every column is >= 0
(``grid_import_mw`` is what the site draws from the grid).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from forecasts.feeds.errors import FeedError

COLUMNS = ("pv_mw", "wind_mw", "it_load_mw", "grid_import_mw")
"""Metered quantities, mean power over the interval [MW]."""
REQUIRED = ("pv_mw", "wind_mw")
"""What an hour is settled on (renewable supply); ``it_load_mw`` and ``grid_import_mw`` may be
blank (kept when given, for the operator's cross-check)."""


def _readings_from_json(text: str) -> pd.DataFrame:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError("measurements_malformed", f"meter JSON cannot be decoded ({exc.msg} at line {exc.lineno})") from None
    blocks = payload if isinstance(payload, list) else [payload]
    rows = []
    for block in blocks:
        if isinstance(block, dict) and "readings" in block:
            rows += [{"site": block.get("site"), **r} for r in block["readings"] if isinstance(r, dict)]
        elif isinstance(block, dict):
            rows.append(block)
        else:
            raise FeedError("measurements_malformed", "meter JSON must be an object with 'readings' or a list of readings")
    return pd.DataFrame(rows)


def parse_meter_file(text: str, name: str) -> pd.DataFrame:
    """Readings of one drop file: ``time`` (UTC interval start), ``site``, ``interval_min`` and
    :data:`COLUMNS`.

    Raises
    ------
    FeedError
        ``measurements_malformed``: unreadable, a column missing, a time without offset, an
        interval that is not 15 or 60 minutes, a negative or non-finite value.
    """
    if name.lower().endswith(".json"):
        table = _readings_from_json(text)
    else:
        try:
            table = pd.read_csv(io.StringIO(text))
        except (ValueError, pd.errors.ParserError) as exc:
            raise FeedError("measurements_malformed", f"meter file {name} cannot be read ({exc})") from None
    missing = [c for c in ("time", "site", *REQUIRED) if c not in table]
    if missing:
        raise FeedError("measurements_malformed", f"meter file {name} lacks columns {missing}; see docs/operations.md "
                        "(time,site,pv_mw,wind_mw,it_load_mw,grid_import_mw)")
    if table.empty:
        return pd.DataFrame(columns=["time", "site", "interval_min", *COLUMNS])
    texts = table["time"].astype(str)
    if not texts.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).all():
        raise FeedError("measurements_malformed", f"meter file {name}: times must carry a UTC offset "
                        "(e.g. 2023-07-03T00:00+08:00 or ...Z)")
    try:
        times = pd.to_datetime(texts, utc=True, format="ISO8601")
        values = table.reindex(columns=list(COLUMNS)).apply(pd.to_numeric, errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise FeedError("measurements_malformed", f"meter file {name}: {exc}") from None
    array = values.to_numpy()
    required = values[list(REQUIRED)].to_numpy()
    bad = (~np.isfinite(required)).sum() + (np.nan_to_num(array, nan=0.0) < 0).sum() + np.isinf(array).sum()
    if bad:
        raise FeedError("measurements_malformed", f"meter file {name}: {int(bad)} values are negative or not "
                        "numbers; meters report mean power >= 0 [MW] (pv_mw and wind_mw are required)")
    frame = pd.concat([pd.DataFrame({"time": times, "site": table["site"].astype(str)}), values], axis=1)
    minutes = frame["time"].dt.minute
    if not minutes.isin([0, 15, 30, 45]).all() or (frame["time"].dt.second != 0).any():
        raise FeedError("measurements_malformed", f"meter file {name}: interval starts must be on the quarter hour")
    hourly_site = frame.groupby([frame["site"], frame["time"].dt.floor("h")])["time"].transform("size")
    frame["interval_min"] = np.where((minutes == 0) & (hourly_site == 1), 60, 15)
    return frame


def hourly(readings: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Complete hours of the readings (mean power of the hour per site) and the problems found.

    Repeated intervals with the same values are dropped; repeated intervals with different
    values keep the last one read and report ``measurements_duplicated``; hours with missing
    intervals are left out (``measurements_gapped``)."""
    problems: list[str] = []
    if readings.empty:
        return pd.DataFrame(columns=["time", "site", *COLUMNS]), problems
    unique = readings.drop_duplicates(["time", "site", *REQUIRED])
    if unique.duplicated(["time", "site"]).any():
        problems.append("measurements_duplicated")
    unique = unique.drop_duplicates(["time", "site"], keep="last")
    unique = unique.assign(hour=unique["time"].dt.floor("h"))
    grouped = unique.groupby(["hour", "site"])
    counts = grouped.size()
    needed = grouped["interval_min"].min().map({60: 1, 15: 4})
    complete = counts[counts >= needed].index
    if len(complete) < len(counts):
        problems.append("measurements_gapped")
    means = grouped[list(COLUMNS)].mean().loc[complete].reset_index().rename(columns={"hour": "time"})
    return means.sort_values(["time", "site"]).reset_index(drop=True), problems
