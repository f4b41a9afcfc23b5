"""The project's own error types (the CLI prints these without a traceback).

A lowest-floor module: it imports nothing of the project, so every layer can raise these.
"""

from __future__ import annotations


class CodispatchError(Exception):
    """Base of the errors a user can fix (bad input, missing file, held lease, ...)."""


class CommandError(CodispatchError, RuntimeError):
    """A command failed in a way the user can fix; printed without a traceback."""
