"""HTTP GET of a JSON feed: timeout, retries with exponential backoff, TLS verification on.

The auth header value is never logged nor put in an error message (only the URL without its
query string is)."""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from forecasts.feeds.errors import FeedError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpPolicy:
    """How a feed is fetched."""

    timeout_s: float = 10.0
    retries: int = 2
    """Further attempts after the first (connection errors, timeouts, 5xx, 429)."""
    backoff_s: float = 0.5
    """Wait before the first retry; doubled before each next one [s]."""


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The system's trust store with certificate and host-name verification (made once: loading
    the CA bundle takes ~0.1 s)."""
    return ssl.create_default_context()


def _public(url: str) -> str:
    return url.split("?", 1)[0]


def get_json(url: str, feed: str, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
             policy: HttpPolicy = HttpPolicy()) -> tuple[object, httpx.Headers]:
    """The decoded JSON body and the response headers of ``GET url``.

    Raises
    ------
    FeedError
        ``<feed>_unavailable`` after the last failed attempt (the reason, never the headers),
        ``<feed>_malformed`` when the body is not JSON.
    """
    attempt = 0
    wait_s = policy.backoff_s
    while True:
        reason = ""
        try:
            with httpx.Client(timeout=policy.timeout_s, verify=_tls_context(), follow_redirects=False) as client:
                response = client.get(url, params=dict(params or {}), headers=dict(headers or {}))
            if response.status_code == 200:
                try:
                    return response.json(), response.headers
                except ValueError as exc:
                    raise FeedError(f"{feed}_malformed",
                                    f"{feed} feed {_public(url)} answered 200 but not with JSON ({exc.__class__.__name__}); "
                                    "check the endpoint URL") from None
            reason = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                raise FeedError(f"{feed}_unavailable", f"{feed} feed {_public(url)} answered {reason}; check the URL, "
                                "the zone/coordinates and the token (not shown)")
        except httpx.HTTPError as exc:
            reason = exc.__class__.__name__
        if attempt >= policy.retries:
            raise FeedError(f"{feed}_unavailable", f"{feed} feed {_public(url)} failed {attempt + 1} times (last: "
                            f"{reason}); the tick uses the fallback")
        logger.info("%s feed %s: %s; retry in %.1f s", feed, _public(url), reason, wait_s)
        time.sleep(wait_s)
        attempt += 1
        wait_s *= 2
