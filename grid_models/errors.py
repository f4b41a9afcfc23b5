"""Base of the input errors of ``grid_models`` (network, connection or grid data a user can fix)."""

from __future__ import annotations


class GridInputError(ValueError):
    """A network, connection or data file is wrong; the message names it and the fix."""
