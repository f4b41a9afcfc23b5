"""Feed adapters: providers' formats -> canonical UTC frames with units in the names.

Each adapter parses one public format (Open-Meteo forecast JSON, Electricity Maps v3 carbon
intensity JSON, site meter CSV/JSON), checks schema, units, time zone and coverage, and raises
:class:`FeedError` (with a ``flag`` naming what went wrong) instead of returning doubtful data.
The package never imports ``control``: the daemon decides what a failed feed means (fallback).
"""

from forecasts.feeds.errors import FeedError

__all__ = ["FeedError"]
