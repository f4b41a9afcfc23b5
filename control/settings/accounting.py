"""Settings of the `[accounting]` table (optional; every field has a default).

Initial version created with the settings skeleton; the accounting part of the project extends it.
"""

from __future__ import annotations

from control.settings.base import FrozenModel


class AccountingSettings(FrozenModel):
    """Settings of the `[accounting]` table."""
