"""Bearer tokens with roles (viewer: read; operator: write), stored as SHA-256 digests.

A token is 32 random bytes (``secrets.token_urlsafe``), shown once when created; the store keeps
only ``sha256(token)``. With that much entropy a plain hash is as good as a slow one (there is
nothing to guess), and it lets a request be checked without a per-request key-derivation cost.
Every presented token is compared against every active digest with :func:`hmac.compare_digest`
(constant time, no early exit), so the response time does not tell how much of a digest matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from control.operations.commands import Actor, Role
from control.store import Store, StoreError
from control.store.repository import now_utc
from control.store.tables import TokenRecord

TOKEN_PREFIX = "cdp_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_TOKEN_CHARS = 256
CACHE_S = 5.0
"""Active digests are re-read from the store at most this often (a revoke takes effect within it)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, name: str, role: str) -> str:
    """Make a token for ``name`` with ``role`` and store its digest; returns the token (shown once)."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"token name {name!r}: use 1-64 letters, digits, '_', '.', '-'")
    try:
        role_value = Role(role)
    except ValueError:
        raise ValueError(f"role {role!r}: use one of {', '.join(r.value for r in Role)}") from None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.add_token(TokenRecord(name=name, role=str(role_value), token_sha256=digest(token), created_at=now_utc()))
    return token


def revoke_token(store: Store, name: str) -> None:
    if not store.revoke_token(name, now_utc()):
        raise StoreError(f"no active token named {name!r}; list them with `codispatch token list`")


@dataclass
class TokenChecker:
    """Checks presented tokens against the store's active digests (cached for ``CACHE_S``)."""

    store: Store
    _cache: list[tuple[str, str, str]] | None = None
    _read_at: float = 0.0

    def _active(self) -> list[tuple[str, str, str]]:
        if self._cache is None or time.monotonic() - self._read_at > CACHE_S:
            self._cache = [(t.token_sha256, t.name, t.role) for t in self.store.tokens() if t.revoked_at is None]
            self._read_at = time.monotonic()
        return self._cache

    def check(self, token: str | None) -> Actor | None:
        """The token's actor, or None when it is missing, malformed, unknown or revoked."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        presented = digest(token)
        found: Actor | None = None
        for stored, name, role in self._active():
            if hmac.compare_digest(stored, presented) and found is None:
                found = Actor(name, Role(role))
        return found


def token_from_header(value: str | None) -> str | None:
    """The token of an ``Authorization`` header: ``Bearer <token>``, or HTTP Basic with the token
    as password (what a browser sends after its login prompt; the user name is ignored)."""
    if not value or len(value) > 2 * MAX_TOKEN_CHARS:
        return None
    scheme, _, credentials = value.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return credentials.strip() or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None
