"""The one error type of the feed adapters."""

from __future__ import annotations


class FeedError(ValueError):
    """A feed is unreachable, malformed, stale, partial or from the future.

    ``flag`` is the short name stored on the tick (``nwp_malformed``, ``carbon_stale``, ...); the
    message names the value and the fix. Messages never contain credentials."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag
