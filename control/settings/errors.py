"""Errors raised for bad configuration."""

from __future__ import annotations

from control.errors import InputError


class ConfigError(InputError):
    """A configuration value is missing, unknown or out of range.

    The message names the offending key and value, what is allowed, and how to fix it.
    """
