"""HTTP basic auth against bcrypt hashes, as exporter-toolkit does it, with the outcomes cached
so that a scrape does not pay for a bcrypt (tens of milliseconds) every time, and with the
bcrypt work a stranger can cause bounded, so that a flood of wrong passwords neither delays a
known-good scrape nor queues without end."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from collections import Counter, OrderedDict
from collections.abc import Mapping

import bcrypt

# Credentials that verified: only a right password gets in, so failures cannot push one out.
VERIFIED_CACHE_SIZE = 64
# Wrong credentials seen lately, so that a repeated one costs no bcrypt.
REFUSED_CACHE_SIZE = 1024
# bcrypt runs at most this many at once (each in a worker thread, off the event loop) ...
CONCURRENT_CHECKS = 1
# ... and at most this many more wait; beyond that, an unverified credential is refused at once.
WAITING_CHECKS = 8
MAX_HEADER_CHARS = 4096
# bcrypt reads at most 72 bytes of a password; Go's bcrypt.CompareHashAndPassword (used by
# exporter-toolkit) compares with the first 72 and ignores the rest, and so does this exporter.
BCRYPT_MAX_PASSWORD_BYTES = 72
BCRYPT_ALPHABET = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


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


def decoy_hash(users: Mapping[str, bytes]) -> bytes:
    """A well-formed bcrypt hash that no password matches, at the cost most users' hashes
    have: checking an unknown user against it takes as long as checking a known one."""
    costs = Counter(int(hashed[4:6]) for hashed in users.values())
    cost = costs.most_common(1)[0][0] if costs else 10
    digest = bytes(BCRYPT_ALPHABET[b % 64] for b in os.urandom(31))
    return bcrypt.gensalt(cost) + digest


class BasicAuthVerifier:
    """Checks credentials against the configured users. Outcomes are cached under a keyed
    digest of (user, hash, password), so the caches hold no password and a changed hash is
    verified afresh: right ones in a cache that only right ones enter, wrong ones in another."""

    def __init__(
        self,
        verified_size: int = VERIFIED_CACHE_SIZE,
        refused_size: int = REFUSED_CACHE_SIZE,
        waiting: int = WAITING_CHECKS,
    ) -> None:
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._refused: OrderedDict[bytes, None] = OrderedDict()
        self._verified_size = verified_size
        self._refused_size = refused_size
        self._max_waiting = waiting
        self._waiting = 0
        self._checks = asyncio.Semaphore(CONCURRENT_CHECKS)
        self._in_flight: dict[bytes, asyncio.Future[bool]] = {}
        self._digest_key = os.urandom(32)
        self._decoys: dict[int, bytes] = {}
        self.bcrypt_runs = 0
        self.turned_away = 0

    async def verify(self, authorization: str | None, users: Mapping[str, bytes]) -> bool:
        credentials = parse_basic_authorization(authorization)
        if credentials is None or not users:
            return False
        user_bytes, password = credentials
        user = user_bytes.decode("utf-8", "replace")
        known = user in users
        hashed = users[user] if known else self._decoy(users)
        key = hmac.digest(
            self._digest_key, b"\0".join((user_bytes, hashed, password)), hashlib.sha256
        )
        if key in self._verified:
            self._verified.move_to_end(key)
            return True
        if key in self._refused:
            self._refused.move_to_end(key)
            return False
        in_flight = self._in_flight.get(key)
        if in_flight is not None:  # the same credential, already being checked: share it
            return await asyncio.shield(in_flight)
        if self._waiting >= self._max_waiting:
            self.turned_away += 1
            return False
        check = asyncio.get_running_loop().create_future()
        self._in_flight[key] = check
        self._waiting += 1
        right = False
        try:
            async with self._checks:
                self.bcrypt_runs += 1
                right = await asyncio.to_thread(_checkpw, password, hashed) and known
            _remember(
                self._verified if right else self._refused,
                key,
                self._verified_size if right else self._refused_size,
            )
        finally:
            self._waiting -= 1
            del self._in_flight[key]
            check.set_result(right)
        return right

    def _decoy(self, users: Mapping[str, bytes]) -> bytes:
        # One per set of users (a reload may change their costs); the last few kept.
        marker = hash(tuple(users.values()))
        decoy = self._decoys.get(marker)
        if decoy is None:
            if len(self._decoys) >= 4:
                self._decoys.clear()
            decoy = self._decoys[marker] = decoy_hash(users)
        return decoy

    def sizes(self) -> tuple[int, int]:
        """(verified, refused) credentials cached: both bounded."""
        return len(self._verified), len(self._refused)


def _remember(cache: OrderedDict[bytes, None], key: bytes, size: int) -> None:
    cache[key] = None
    while len(cache) > size:
        cache.popitem(last=False)


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password[:BCRYPT_MAX_PASSWORD_BYTES], hashed)
    except ValueError:  # a hash bcrypt cannot read
        return False
