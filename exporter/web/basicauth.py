"""HTTP basic auth against bcrypt hashes, with verified results cached so that a scrape does
not pay for a bcrypt (tens of milliseconds) every time."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from collections import OrderedDict
from collections.abc import Mapping

import bcrypt

CACHE_SIZE = 256
MAX_HEADER_CHARS = 4096


def parse_basic_authorization(header: str | None) -> tuple[bytes, bytes] | None:
    """(user, password) as bytes from an `Authorization: Basic ...` header, or None."""
    if header is None or len(header) > MAX_HEADER_CHARS:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user, password


class BasicAuthVerifier:
    """Checks credentials against the configured users. Every outcome (right or wrong) is
    cached under a keyed digest of (user, hash, password), so the cache holds no password and
    a changed hash is verified afresh. bcrypt runs in a worker thread, one at a time, so a
    flood of wrong passwords costs at most one core and never blocks the event loop."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._cache_size = cache_size
        self._digest_key = os.urandom(32)
        self._lock = asyncio.Lock()
        self.bcrypt_runs = 0

    async def verify(self, authorization: str | None, users: Mapping[str, bytes]) -> bool:
        credentials = parse_basic_authorization(authorization)
        if credentials is None or not users:
            return False
        user_bytes, password = credentials
        user = user_bytes.decode("utf-8", "replace")
        known = user in users
        # An unknown user is checked against a real hash anyway: same cost, so response times
        # do not tell which user names exist.
        hashed = users[user] if known else next(iter(users.values()))
        key = hmac.digest(
            self._digest_key, b"\0".join((user_bytes, hashed, password)), hashlib.sha256
        )
        cached = self._cache.get(key)
        if cached is None:
            async with self._lock:
                cached = self._cache.get(key)
                if cached is None:
                    cached = await asyncio.to_thread(_checkpw, password, hashed)
                    self.bcrypt_runs += 1
                    self._remember(key, cached)
        else:
            self._cache.move_to_end(key)
        return known and cached

    def _remember(self, key: bytes, outcome: bool) -> None:
        self._cache[key] = outcome
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # a password longer than bcrypt's 72 bytes, or a hash it cannot read
        return False
