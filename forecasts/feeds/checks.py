"""Plausibility checks that catch time-shifted data: sunlight (or PV output) in the dark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

NIGHT_ZENITH_DEG = 95.0
"""Sun this far below the horizon at the middle of the hour: no irradiance, no PV output."""
MAX_NIGHT_SHARE = 0.05
"""A series with more than this share of its energy in the dark is time-shifted (a wrong UTC
offset moves the day by hours; 5 % leaves room for twilight and hour-mean rounding)."""


def night_share(lat: float, lon: float, index: pd.DatetimeIndex, values: np.ndarray) -> float:
    """Share of ``sum(values)`` that falls in hours whose middle has the sun below
    :data:`NIGHT_ZENITH_DEG` at (lat, lon); 0 when the total is 0."""
    total = float(np.nansum(values))
    if total <= 0:
        return 0.0
    zenith = pvlib.solarposition.get_solarposition(index + pd.Timedelta(minutes=30), lat, lon)["zenith"].to_numpy()
    return float(np.nansum(np.where(zenith > NIGHT_ZENITH_DEG, values, 0.0))) / total
