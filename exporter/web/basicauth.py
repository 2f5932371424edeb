"""HTTP basic auth against bcrypt hashes, as exporter-toolkit does it, with the outcomes cached
so that a scrape does not pay for a bcrypt (tens of milliseconds) every time; with the bcrypt
work a stranger can cause bounded and shared fairly between client addresses, so that a flood
of wrong passwords from some addresses neither locks others out nor queues without end; and
with every check costing the same bcrypt work, so that its time tells no user name."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import bcrypt

# Credentials that verified: only a right password gets in, so failures cannot push one out.
VERIFIED_CACHE_SIZE = 64
# Wrong credentials seen lately, so that a repeated one costs no bcrypt.
REFUSED_CACHE_SIZE = 1024
# bcrypt runs one check at a time, in a worker thread (off the event loop), taking the
# clients in turn: one check for each client address (an IPv6 /64) that has one waiting.
# A client has at most this many checks waiting; one more credential from it is refused at once.
WAITING_PER_CLIENT = 2
# At most this many checks wait in all: a new client beyond that takes the place of the last
# check of the client with the most waiting, or is refused when every client has one.
WAITING_CHECKS = 32
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


def client_group(address: str | None) -> str:
    """The client a check is charged to: its IPv4 address, or its IPv6 /64 (one host's share of
    addresses); "" when unknown."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def bcrypt_cost(hashed: bytes) -> int:
    return int(hashed[4:6])


def decoy_hash(cost: int) -> bytes:
    """A well-formed bcrypt hash at `cost` that no password matches."""
    digest = bytes(BCRYPT_ALPHABET[b % 64] for b in os.urandom(31))
    return bcrypt.gensalt(cost) + digest


@dataclass(frozen=True)
class Decoys:
    """For one set of users: every check costs as much bcrypt work as one at the highest cost
    configured (2**cost rounds of its key schedule). An unknown user is checked against a
    decoy at that cost; a user whose hash costs less is checked against it, then against
    decoys at its cost, its cost + 1, ... up to the highest less one, which add up to the
    difference (2**c + 2**c + 2**(c+1) + ... + 2**(top-1) = 2**top)."""

    top: int
    by_cost: Mapping[int, bytes]

    @classmethod
    def for_users(cls, users: Mapping[str, bytes]) -> Decoys:
        costs = {bcrypt_cost(hashed) for hashed in users.values()} or {10}
        top = max(costs)
        needed = set(range(min(costs), top + 1))
        return cls(top, {cost: decoy_hash(cost) for cost in needed})

    def checks_for(self, hashed: bytes | None) -> tuple[bytes, ...]:
        """The hashes to check a password against: the user's first (None: unknown user)."""
        if hashed is None:
            return (self.by_cost[self.top],)
        cost = bcrypt_cost(hashed)
        if cost >= self.top:
            return (hashed,)
        return (hashed, *(self.by_cost[c] for c in range(cost, self.top)))


@dataclass
class _Check:
    key: bytes
    password: bytes
    hashes: tuple[bytes, ...]
    known: bool
    client: str
    done: asyncio.Future[bool] = field(repr=False)


class BasicAuthVerifier:
    """Checks credentials against the configured users. Outcomes are cached under a keyed
    digest of (user, hash, password), so the caches hold no password and a changed hash is
    verified afresh: right ones in a cache that only right ones enter, wrong ones in another."""

    def __init__(
        self,
        verified_size: int = VERIFIED_CACHE_SIZE,
        refused_size: int = REFUSED_CACHE_SIZE,
        waiting: int = WAITING_CHECKS,
        waiting_per_client: int = WAITING_PER_CLIENT,
    ) -> None:
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._refused: OrderedDict[bytes, None] = OrderedDict()
        self._verified_size = verified_size
        self._refused_size = refused_size
        self._max_waiting = waiting
        self._max_per_client = waiting_per_client
        self._queues: OrderedDict[str, deque[_Check]] = OrderedDict()
        self._waiting = 0
        self._worker: asyncio.Task[None] | None = None
        self._in_flight: dict[bytes, asyncio.Future[bool]] = {}
        self._digest_key = os.urandom(32)
        self._decoys: dict[int, Decoys] = {}
        self.bcrypt_runs = 0
        self.bcrypt_work = 0
        self.turned_away = 0

    async def verify(
        self, authorization: str | None, users: Mapping[str, bytes], client: str | None = None
    ) -> bool:
        credentials = parse_basic_authorization(authorization)
        if credentials is None or not users:
            return False
        user_bytes, password = credentials
        user = user_bytes.decode("utf-8", "replace")
        decoys = self._decoys_for(users)
        hashed = users.get(user)
        hashes = decoys.checks_for(hashed)
        key = hmac.digest(
            self._digest_key, b"\0".join((user_bytes, hashes[0], password)), hashlib.sha256
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
        group = client_group(client)
        if not self._make_room(group):
            self.turned_away += 1
            return False
        done = asyncio.get_running_loop().create_future()
        check = _Check(key, password, hashes, hashed is not None, group, done)
        self._queues.setdefault(group, deque()).append(check)
        self._waiting += 1
        self._in_flight[key] = done
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())
        return await asyncio.shield(done)

    def _make_room(self, group: str) -> bool:
        """Whether a check from `group` may wait, having dropped another to make room."""
        queue = self._queues.get(group)
        if queue is not None and len(queue) >= self._max_per_client:
            return False
        if self._waiting < self._max_waiting:
            return True
        busiest = max(self._queues, key=lambda g: len(self._queues[g]))
        if len(self._queues[busiest]) <= (len(queue) if queue else 0) + 1:
            return False
        dropped = self._queues[busiest].pop()
        self._waiting -= 1
        self.turned_away += 1
        del self._in_flight[dropped.key]
        dropped.done.set_result(False)
        return True

    async def _work(self) -> None:
        """Runs the waiting checks one at a time, one client after the other."""
        while self._queues:
            group, queue = next(iter(self._queues.items()))
            check = queue.popleft()
            if queue:
                self._queues.move_to_end(group)
            else:
                del self._queues[group]
            self._waiting -= 1
            self.bcrypt_runs += 1
            self.bcrypt_work += sum(2 ** bcrypt_cost(hashed) for hashed in check.hashes)
            try:
                right = await asyncio.to_thread(_check, check.password, check.hashes)
            except Exception:  # the worker must go on with the others; refused, not cached
                right = None
            del self._in_flight[check.key]
            if right is not None:
                right = right and check.known
                _remember(
                    self._verified if right else self._refused,
                    check.key,
                    self._verified_size if right else self._refused_size,
                )
            check.done.set_result(bool(right))

    def _decoys_for(self, users: Mapping[str, bytes]) -> Decoys:
        # One set per set of users (a reload may change their costs); the last few kept.
        marker = hash(tuple(users.values()))
        decoys = self._decoys.get(marker)
        if decoys is None:
            if len(self._decoys) >= 4:
                self._decoys.clear()
            decoys = self._decoys[marker] = Decoys.for_users(users)
        return decoys

    def sizes(self) -> tuple[int, int]:
        """(verified, refused) credentials cached: both bounded."""
        return len(self._verified), len(self._refused)


def _remember(cache: OrderedDict[bytes, None], key: bytes, size: int) -> None:
    cache[key] = None
    while len(cache) > size:
        cache.popitem(last=False)


def _check(password: bytes, hashes: tuple[bytes, ...]) -> bool:
    """Whether the password matches the first hash; the others are checked for their cost."""
    matched = [_checkpw(password, hashed) for hashed in hashes]
    return matched[0]


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password[:BCRYPT_MAX_PASSWORD_BYTES], hashed)
    except ValueError:  # a hash bcrypt cannot read
        return False
