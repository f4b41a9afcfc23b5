"""Settings of the ``[forecast]`` table: which forecasts the controller decides on."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from control.settings.base import FrozenModel


class ForecastSettings(FrozenModel):
    """``[forecast]``: the forecast method (see ``forecasts/as_issued.py``)."""

    method: Literal["perfect", "as_issued"] = "perfect"
    """``perfect`` hands the controller the actual weather (an upper bound of forecast quality);
    ``as_issued`` forecasts from observations before each step only (smart persistence of the
    clear-sky index for PV, persistence blended into the recent mean for wind)."""
    history_days: int = Field(default=7, ge=1, le=60)
    """Days of past observations behind the climatologies [d]."""
    pv_persistence_h: float = Field(default=4.0, gt=0)
    """Lead time over which the PV forecast moves from the current clear-sky index to its recent mean [h]."""
    wind_persistence_h: float = Field(default=6.0, gt=0)
    """Lead time over which the wind forecast moves from the last hour to the recent mean [h]."""
