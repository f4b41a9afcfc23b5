"""The reporting period of ``codispatch report`` (``--from``/``--to``), shared by its inputs."""

from __future__ import annotations

import pandas as pd

from control.errors import InputError


class ReportInputError(InputError):
    """The report's input is missing or cannot be read."""


def period_bounds(start: str | None, end: str | None, hours: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[first, last)`` from ``--from``/``--to``; a missing bound is the first hour of ``hours``
    (UTC timestamps of the input) or one hour after its last."""
    first = parse_bound(start) if start is not None else hours.min()
    last = parse_bound(end) if end is not None else hours.max() + pd.Timedelta(hours=1)
    return first, last


def parse_bound(value: str) -> pd.Timestamp:
    """A date (that UTC day's start) or an ISO 8601 time with offset, as UTC."""
    try:
        stamp = pd.Timestamp(value)
    except ValueError as error:
        raise ReportInputError(f"{value!r} is not a date or time; write e.g. 2023-07-03 or 2023-07-03T08:00+08:00") from error
    if stamp.tzinfo is None:
        if len(value) == 10:  # a bare date: that UTC day's start
            return stamp.tz_localize("UTC")
        raise ReportInputError(f"{value!r} has no UTC offset; write e.g. '{value}Z' or '{value}+08:00'")
    return stamp.tz_convert("UTC")


def within(frame: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, column: str = "time") -> pd.DataFrame:
    """Rows with ``first <= frame[column] < last``."""
    return frame[(frame[column] >= first) & (frame[column] < last)].reset_index(drop=True)


def empty_period(first: pd.Timestamp, last: pd.Timestamp, source: str, hours: pd.Series) -> ReportInputError:
    """The error of a period with nothing in it, naming the range ``source`` covers."""
    return ReportInputError(f"no settled hours in [{first}, {last}); {source} covers {hours.min()} .. {hours.max()}; "
                            "choose --from/--to inside it")
