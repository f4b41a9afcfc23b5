"""Settings of the `[forecast]` table (optional; every field has a default).

Initial version created with the settings skeleton; the forecast part of the project extends it.
"""

from __future__ import annotations

from control.settings.base import FrozenModel


class ForecastSettings(FrozenModel):
    """Settings of the `[forecast]` table."""
