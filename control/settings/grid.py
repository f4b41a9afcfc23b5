"""Settings of the `[grid]` table (optional; every field has a default).

Initial version created with the settings skeleton; the grid part of the project extends it.
"""

from __future__ import annotations

from control.settings.base import FrozenModel


class GridSettings(FrozenModel):
    """Settings of the `[grid]` table."""
