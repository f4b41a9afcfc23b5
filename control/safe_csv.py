"""CSV files a spreadsheet may open: text cells that start like a formula are escaped.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets (CSV/formula injection, OWASP). Every CSV codispatch
writes goes through :func:`write_csv`, which prefixes such TEXT cells with an apostrophe (the
spreadsheet shows the text, runs nothing); numbers, including negative ones, are written as
numbers. :func:`read_csv` undoes the prefix for the files codispatch reads back (a simulation's
dispatch for ``report --sim``), so ids round-trip unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START + ("'",)):
        # an apostrophe already at the start is doubled, so read_csv can tell it from ours
        return "'" + value
    return value


def _unescape(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'") and len(value) > 1 and value[1] in FORMULA_START + ("'",):
        return value[1:]
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and text column name) that a spreadsheet would run escaped."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(_escape)
    out.columns = [_escape(c) for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(_escape)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs: Any) -> Path:
    """``frame.to_csv(path, **kwargs)`` with formula-like text cells escaped."""
    escape_formulas(frame).to_csv(path, **kwargs)
    return Path(path)


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` of a file :func:`write_csv` wrote, with the escaping undone."""
    frame = pd.read_csv(path, **kwargs)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_unescape)
    frame.columns = [_unescape(c) for c in frame.columns]
    return frame
