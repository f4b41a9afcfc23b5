"""Settings of the `[runtime]` table (optional; every field has a default).

Initial version created with the settings skeleton; the runtime part of the project extends it.
"""

from __future__ import annotations

from control.settings.base import FrozenModel


class RuntimeSettings(FrozenModel):
    """Settings of the `[runtime]` table."""
