"""Base of the input errors of ``forecasts`` (bad weather, power or carbon data a user can fix)."""

from __future__ import annotations


class ForecastInputError(ValueError):
    """An input series or file is wrong; the message names it and the fix."""
