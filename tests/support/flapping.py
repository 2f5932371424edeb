"""The soak's upstream: the fake Binance scripted to flap through every failure mode in turn
(each answer the next of CYCLE), remembering every good answer's rates and every request that
came inside a Retry-After window or before the next minute after a near-limit weight."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from exporter.fakebinance.replies import Reply, error_body
from exporter.fakebinance.server import FakeBinance

GENERATION_ASSET = "SOAKGEN"  # its rate is the response's generation / 1e6: which answer it was
ASSETS = (*tuple(f"A{i:03d}" for i in range(60)), "BTC", "ETH", "1000SATS", "币安人生")
WEIGHT_NEAR_LIMIT = 11500  # above the exporter's 90% of 12000

# One cycle of the upstream's behaviour, one entry per request. Every failure is followed by a
# good answer except the two back-to-back ones, which make the exporter back off.
CYCLE = (
    "good",
    "rate_limited",
    "good",
    "auth",
    "good_with_invalid_entries",
    "ip_banned",
    "good",
    "forbidden",
    "good",
    "restricted_location",
    "good",
    "server_error",
    "server_error",
    "good",
    "unavailable_retry_after",
    "good",
    "timeout",
    "good",
    "reset",
    "good",
    "not_json",
    "good",
    "wrong_shape",
    "good",
    "too_large",
    "good",
    "weight_near_limit",
    "good",
)
GOOD_MODES = frozenset({"good", "good_with_invalid_entries"})


@dataclass
class Window:
    """No request may arrive before `until` (monotonic seconds, or wall seconds if `wall`)."""

    since: float
    until: float
    wall: bool
    why: str


class FlappingUpstream:
    def __init__(self, rng: random.Random, timeout: float, max_bytes: int) -> None:
        self._rng = rng
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._turn = 0
        self.fake = FakeBinance()
        self.requests = 0
        self.served: Counter[str] = Counter()
        self.windows: list[Window] = []
        self.violations: list[str] = []
        self.good: dict[int, dict[str, float]] = {}
        self.url = ""

    def _check_windows(self) -> None:
        mono, wall = time.monotonic(), time.time()
        for window in self.windows[-8:]:
            now = wall if window.wall else mono
            if now < window.until:
                self.violations.append(
                    f"request {now - window.since:.3f}s after {window.why}, "
                    f"{window.until - now:.3f}s too early"
                )

    def _next_mode(self) -> str:
        mode = CYCLE[self._turn % len(CYCLE)]
        self._turn += 1
        if mode == "weight_near_limit" and time.time() % 60 < 56:
            return "good"  # only near the end of a minute, so the pause stays a few seconds
        return mode

    def _rates_body(self, with_invalid: bool) -> bytes:
        generation = len(self.good) + 1
        rates = {asset: round(self._rng.uniform(0.05, 1.0), 4) for asset in ASSETS}
        rates[GENERATION_ASSET] = generation / 1e6
        self.good[generation] = rates
        entries: list[dict[str, object]] = [
            {"asset": asset, "collateralRate": f"{rate:.6f}"} for asset, rate in rates.items()
        ]
        if with_invalid:
            entries += [{"asset": "", "collateralRate": "0.5"}, {"asset": "X", "rate": "1"}]
        return json.dumps(entries, ensure_ascii=False).encode()

    def _retry_after(self, why: str) -> dict[str, str]:
        seconds = self._rng.choice((1, 2))
        now = time.monotonic()
        self.windows.append(Window(now, now + seconds, False, why))
        return {"Retry-After": str(seconds)}

    def reply_to(self, request: web.Request) -> Reply:
        """The fake Binance's answer to this request: the next of the cycle."""
        self.requests += 1
        self._check_windows()
        mode = self._next_mode()
        self.served[mode] += 1
        weight = self._rng.randint(50, 3000)
        if mode in GOOD_MODES:
            body = self._rates_body(mode == "good_with_invalid_entries")
            return Reply(body=body, used_weight=weight)
        if mode == "weight_near_limit":
            minute_end = (time.time() // 60 + 1) * 60
            self.windows.append(Window(time.time(), minute_end, True, "IP weight near limit"))
            return Reply(body=self._rates_body(False), used_weight=WEIGHT_NEAR_LIMIT)
        if mode == "timeout":
            return Reply(status=504, body=b"", delay=self._timeout + 0.5, used_weight=weight)
        if mode == "reset":
            if self.served["reset"] % 2:  # aiohttp's client retries a dropped kept-alive
                self._turn -= 1  # connection once: drop the retry too
            return Reply(reset=True)
        statuses = {
            "rate_limited": 429,
            "ip_banned": 418,
            "auth": 401,
            "forbidden": 403,
            "restricted_location": 451,
            "server_error": 500,
            "unavailable_retry_after": 503,
        }
        if mode in statuses:
            headers = {}
            if mode in ("rate_limited", "ip_banned", "unavailable_retry_after"):
                headers = self._retry_after(f"{mode} Retry-After")
            code = -1003 if mode == "rate_limited" else -1
            return Reply(statuses[mode], error_body(code, mode), headers, used_weight=weight)
        if mode == "not_json":
            text = {"Content-Type": "text/plain; charset=utf-8"}
            return Reply(body=b"<html>maintenance</html>", headers=text, used_weight=weight)
        if mode == "wrong_shape":
            return Reply(body=json.dumps({"data": []}).encode(), used_weight=weight)
        if mode == "too_large":
            return Reply(body=b"[" + b" " * self._max_bytes + b"]", used_weight=weight)
        raise AssertionError(mode)

    async def start(self) -> None:
        self.fake.scripts.append(self.reply_to)
        self.url = await self.fake.start()

    async def stop(self) -> None:
        await self.fake.stop()
