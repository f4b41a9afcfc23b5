"""The project's own error types (the CLI prints these without a traceback).

A lowest-floor module: it imports nothing of the project, so every layer can raise these.
``forecasts`` and ``grid_models`` (leaf packages, which import nothing of ``control``) have
their own bases, :class:`forecasts.errors.ForecastInputError` and
:class:`grid_models.errors.GridInputError`. Anything else that escapes a command (a bare
``KeyError``, ``ValueError``, ...) is a bug and is shown with its traceback.
"""

from __future__ import annotations


class CodispatchError(Exception):
    """Base of the errors a user can fix (bad input, missing file, held lease, ...)."""


class InputError(CodispatchError, ValueError):
    """A value the user gave (config, job file, option, data file) is wrong; the message names
    the value and the fix."""


class CommandError(CodispatchError, RuntimeError):
    """A command failed in a way the user can fix; printed without a traceback."""
