"""Electricity Maps API v3 carbon intensity JSON -> hourly intensity per zone [gCO2eq/kWh], UTC.

Format (Electricity Maps API v3, https://static.electricitymaps.com/api/docs/index.html, endpoints
``/v3/carbon-intensity/latest``, ``/history``, ``/forecast``; header ``auth-token``):

- latest: ``{"zone", "carbonIntensity", "datetime", "updatedAt", "emissionFactorType",
  "isEstimated", "estimationMethod"}``
- history: ``{"zone", "history": [ <latest-like object>, ... ]}`` (the last 24 hours)
- forecast: ``{"zone", "forecast": [{"carbonIntensity", "datetime"}, ...], "updatedAt"}``

``datetime`` is the start of the hour in UTC (``...Z``); ``carbonIntensity`` is gCO2eq/kWh
(life-cycle by default). Estimated values (``isEstimated``) are kept and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.feeds.errors import FeedError

MAX_CI_G_PER_KWH = 3000.0


@dataclass(frozen=True)
class CarbonSeries:
    """Hourly intensity of one zone, as parsed."""

    zone: str
    ci_g_per_kwh: pd.Series
    """UTC hour starts -> gCO2eq/kWh."""
    estimated: pd.Series
    """Same index: True where the provider flagged the value as estimated."""
    updated_at: pd.Timestamp | None
    """When the provider issued the data (forecast ``updatedAt``, newest history ``updatedAt``)."""


def _stamp(value: object, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise FeedError("carbon_malformed", f"Electricity Maps {what} {value!r} is not an ISO-8601 time") from None
    if stamp.tzinfo is None:
        raise FeedError("carbon_malformed", f"Electricity Maps {what} {value!r} has no time zone; v3 writes UTC ('Z')")
    return stamp.tz_convert("UTC")


def parse_carbon_intensity(payload: object, zone: str | None = None) -> CarbonSeries:
    """Any of the three v3 responses -> :class:`CarbonSeries` (hourly, sorted; a repeated hour
    keeps its most recently updated value).

    Raises
    ------
    FeedError
        ``carbon_malformed``: not the format, wrong zone, non-hourly or misaligned times, values
        missing, non-numeric, negative or above 3,000 g/kWh.
    """
    if not isinstance(payload, dict):
        raise FeedError("carbon_malformed", "Electricity Maps response is not a JSON object")
    found = payload.get("zone")
    if zone is not None and found is not None and found != zone:
        raise FeedError("carbon_malformed", f"Electricity Maps response is for zone {found!r}, expected {zone!r}")
    if "history" in payload:
        entries = payload["history"]
    elif "forecast" in payload:
        entries = payload["forecast"]
    elif "carbonIntensity" in payload:
        entries = [payload]
    else:
        raise FeedError("carbon_malformed", "Electricity Maps response has none of 'history', 'forecast', "
                        "'carbonIntensity'")
    if not isinstance(entries, list) or not entries:
        raise FeedError("carbon_malformed", "Electricity Maps response has no data points")
    if not all(isinstance(e, dict) and "datetime" in e and "carbonIntensity" in e for e in entries):
        raise FeedError("carbon_malformed", "Electricity Maps data point without 'datetime' and 'carbonIntensity'")
    values = [e["carbonIntensity"] for e in entries]
    bad = [v for v in values if v is None or isinstance(v, bool) or not isinstance(v, (int, float))]
    if bad:
        raise FeedError("carbon_malformed", f"Electricity Maps carbonIntensity {bad[0]!r} is not a number "
                        f"({len(bad)} of {len(values)} points)")
    texts = pd.Series([str(e["datetime"]) for e in entries])
    if not texts.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).all():
        raise FeedError("carbon_malformed", "Electricity Maps datetime without time zone; v3 writes UTC ('...Z')")
    try:
        times = pd.to_datetime(texts, utc=True, format="ISO8601")
        updated = pd.to_datetime(pd.Series([e.get("updatedAt") for e in entries]), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise FeedError("carbon_malformed", f"Electricity Maps times are not ISO-8601 ({exc})") from None
    frame = pd.DataFrame({"time": times, "ci": np.asarray(values, dtype=float),
                          "estimated": [bool(e.get("isEstimated", False)) for e in entries], "updated": updated})
    if (frame["time"] != frame["time"].dt.floor("h")).any():
        raise FeedError("carbon_malformed", "Electricity Maps datetimes are not whole UTC hours; request "
                        "temporalGranularity=hourly")
    frame = frame.sort_values(["time", "updated"], na_position="first").drop_duplicates("time", keep="last")
    values = frame["ci"].to_numpy()
    if not np.isfinite(values).all() or (values < 0).any() or (values > MAX_CI_G_PER_KWH).any():
        raise FeedError("carbon_malformed", f"Electricity Maps carbonIntensity outside [0, {MAX_CI_G_PER_KWH:g}] "
                        "gCO2eq/kWh")
    index = pd.DatetimeIndex(frame["time"])
    updated_at = payload.get("updatedAt")
    stamp = _stamp(updated_at, "updatedAt") if updated_at else (frame["updated"].max() if frame["updated"].notna().any()
                                                                else None)
    return CarbonSeries(str(found or zone or ""), pd.Series(values, index=index, name="ci_g_per_kwh"),
                        pd.Series(frame["estimated"].to_numpy(), index=index), stamp)
