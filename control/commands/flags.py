"""Parsing of command-line values shared by several commands (no sub-command of its own)."""

from __future__ import annotations

from control.errors import InputError


def parse_time_flag(text: str, flag: str = "--at"):  # noqa: ANN201 - pandas imported on demand
    """A command-line time: ISO 8601 with a UTC offset, as a UTC ``pd.Timestamp``.

    Raises :class:`~control.errors.InputError` naming the flag and the fix for words (``now``), bad syntax and naive times.
    """
    import re

    import pandas as pd

    example = "2023-07-03T08:00:00Z"
    if not re.match(r"^\s*\d{4}-\d{2}-\d{2}", text):
        raise InputError(f"{flag} {text!r} is not an ISO 8601 time; write e.g. {example} (omit {flag} for now)")
    try:
        stamp = pd.Timestamp(text.strip())
    except ValueError:
        raise InputError(f"{flag} {text!r} is not an ISO 8601 time; write e.g. {example}") from None
    if stamp.tzinfo is None:
        raise InputError(f"{flag} {text!r} has no UTC offset; append 'Z' (UTC) or an offset such as '+08:00'")
    return stamp.tz_convert("UTC")
