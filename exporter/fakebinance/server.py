"""The fake Binance's server: its state (rates, tiers, keys, clock, used weight, bans), the
endpoint table it serves, and how every request is answered."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from aiohttp import web

from exporter.fakebinance.endpoints import ENDPOINTS, Endpoint, Security
from exporter.fakebinance.replies import Reply, ban_reply, error_reply, mandatory

API_KEY_HEADER = "X-MBX-APIKEY"
MAX_RECV_WINDOW_MS = 60000
DEFAULT_RECV_WINDOW_MS = 5000
CHUNK = b"x" * 65536
MAX_HELD_SECONDS = 10**9  # a Retry-After beyond it (a test's absurd one) is remembered as this


# Consulted for every request, in order: the first that returns a reply answers it instead of
# the endpoint's good answer (the tests' queued faults, the demo's scenarios, the soak's cycle).
Script = Callable[[web.Request], Reply | None]
# Told of every request as it arrives (the tests record them).
Observer = Callable[[web.Request], None]
# Adds routes with handlers of their own to the app before it starts.
Mount = Callable[[web.Application], None]


class FakeBinance:
    """Binance on loopback. Serves every `Endpoint` of `endpoints` (by default the collateral
    rate endpoints of `exporter.fakebinance.endpoints`), and whatever `mounts` add.

    Requests are checked as Binance does: a KEY or SIGNED endpoint wants `X-MBX-APIKEY`
    (`-2014`, 401), the one of `api_key` when that is set (`-2015`, 401); a SIGNED one also wants
    `timestamp` (and an optional `recvWindow`, at most 60000), and `signature`, the last
    parameter, the hex HMAC-SHA256 of the raw query string before it keyed with `api_secret`
    (`-1022`); the timestamp less than 1 s ahead of the fake's clock and at most recvWindow
    behind it (`-1021`). The fake's clock is `clock()` (unix seconds) plus `server_offset_ms`.

    Every answer carries the used-weight header of its endpoint: `used_weight` when set, else the
    weight spent in the current minute of the fake's clock, as Binance counts it. While `ban()`
    holds, every request is answered 418 with `Retry-After`. A request that arrives while a
    `Retry-After` the fake sent is still running is counted in `requests_inside_retry_after`."""

    def __init__(
        self,
        rates: Mapping[str, str] | None = None,
        *,
        endpoints: Iterable[Endpoint] = ENDPOINTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoints: dict[str, Endpoint] = {endpoint.path: endpoint for endpoint in endpoints}
        self.rates: dict[str, str] = dict(rates or {"BTC": "0.9500", "USDT": "1.0000"})
        self.tiers: dict[str, list[dict[str, str]]] = {}
        # When set, the v2 tiers are made from it at each request instead of read from `tiers`.
        self.tiers_source: Callable[[], Mapping[str, list[dict[str, str]]]] | None = None
        self.api_key: str | None = None
        self.api_secret: str | None = None
        self.clock = clock
        self.server_offset_ms = 0.0
        self.used_weight: int | None = None
        self.banned_until = 0.0
        self.requests_inside_retry_after = 0
        self.scripts: list[Script] = []
        self.observers: list[Observer] = []
        self.mounts: list[Mount] = []
        self.url = ""
        self._retry_after_until = 0.0
        self._weights: dict[str, tuple[int, int]] = {}
        self._runner: web.AppRunner | None = None

    # State, as Binance would report it.

    def server_time_ms(self) -> float:
        return self.clock() * 1000.0 + self.server_offset_ms

    def current_tiers(self) -> Mapping[str, list[dict[str, str]]]:
        return self.tiers_source() if self.tiers_source is not None else self.tiers

    def float_rates(self) -> dict[str, float]:
        return {asset: float(rate) for asset, rate in self.rates.items()}

    def ban(self, seconds: float) -> None:
        """Binance's IP ban: every request is refused with 418 for `seconds` of the clock."""
        self.banned_until = self.clock() + seconds

    def add_endpoints(self, *endpoints: Endpoint) -> None:
        for endpoint in endpoints:
            self.endpoints[endpoint.path] = endpoint

    # Answering.

    def signed_request_error(self, request: web.Request) -> Reply | None:
        """Binance's refusal of a signed request, or None if it passes."""
        raw = request.rel_url.raw_query_string
        query = request.rel_url.query
        timestamp = _as_int(query.get("timestamp"))
        if timestamp is None:
            return Reply(400, mandatory("timestamp"))
        recv_window = _as_int(query.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS)))
        if recv_window is None or recv_window <= 0:
            return Reply(400, mandatory("recvWindow"))
        if recv_window > MAX_RECV_WINDOW_MS:
            return error_reply(400, -1131, "recvWindow must be less than 60000")
        payload, marker, given = raw.rpartition("&signature=")
        if not marker or not given:
            return Reply(400, mandatory("signature"))
        expected = hmac.new(
            (self.api_secret or "").encode(), payload.encode(), hashlib.sha256
        ).hexdigest()
        if self.api_secret is None or not hmac.compare_digest(given.lower(), expected):
            return error_reply(400, -1022, "Signature for this request is not valid.")
        now = self.server_time_ms()
        if timestamp >= now + 1000:
            return error_reply(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            return error_reply(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return None

    def refusal(self, endpoint: Endpoint, request: web.Request) -> Reply | None:
        """What Binance answers a request it does not accept, or None."""
        if endpoint.security is Security.NONE:
            return None
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            return error_reply(401, -2014, "API-key format invalid.")
        if self.api_key is not None and key != self.api_key:
            return error_reply(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if endpoint.security is Security.SIGNED:
            return self.signed_request_error(request)
        return None

    def _scripted(self, request: web.Request) -> Reply | None:
        for script in self.scripts:
            reply = script(request)
            if reply is not None:
                return reply
        return None

    def _spend(self, header: str, weight: int) -> int:
        minute = int(self.clock() // 60)
        last_minute, used = self._weights.get(header, (minute, 0))
        used = (used if last_minute == minute else 0) + weight
        self._weights[header] = (minute, used)
        return used

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = self.endpoints[request.path]
        for observer in self.observers:
            observer(request)
        now = self.clock()
        if now < self._retry_after_until:
            self.requests_inside_retry_after += 1
        banned = now < self.banned_until
        reply = ban_reply(self.banned_until - now) if banned else self._scripted(request)
        if reply is None or (reply.status == 200 and reply.body is None and not reply.reset):
            reply = reply or Reply()
            refused = self.refusal(endpoint, request)
            if refused is not None:
                reply = replace(refused, headers={**refused.headers, **reply.headers})
        return await self.answer(endpoint, request, reply)

    async def answer(
        self, endpoint: Endpoint, request: web.Request, reply: Reply
    ) -> web.StreamResponse:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        spent = self._spend(endpoint.weight_header, endpoint.weight)
        weight = reply.used_weight if reply.used_weight is not None else self.used_weight
        headers = {endpoint.weight_header: str(spent if weight is None else weight)}
        headers.update(reply.headers)
        self._note_retry_after(headers.get("Retry-After"))
        if reply.stream_bytes:
            response = web.StreamResponse(status=reply.status, headers=headers)
            response.content_type = "application/json"
            await response.prepare(request)
            sent = 0
            while sent < reply.stream_bytes:
                await response.write(CHUNK)
                sent += len(CHUNK)
            await response.write_eof()
            return response
        body = reply.body
        if reply.echo_request:
            body = f"<html>Request blocked: GET {request.path_qs}</html>".encode()
        elif body is None:
            body = endpoint.body(self, request)
        headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        reason = reply.reason(request.path_qs) if callable(reply.reason) else reply.reason
        return web.Response(status=reply.status, body=body, headers=headers, reason=reason)

    def _note_retry_after(self, value: str | None) -> None:
        digits = (value or "").strip()
        if digits.isdigit():
            seconds = int(digits) if len(digits) < 10 else MAX_HELD_SECONDS
            self._retry_after_until = max(self._retry_after_until, self.clock() + seconds)

    # Serving.

    def make_app(self) -> web.Application:
        app = web.Application()
        for mount in self.mounts:
            mount(app)
        for path in self.endpoints:
            app.router.add_get(path, self.handle)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        # No access log: it would print signed query strings into logs.
        self._runner = web.AppRunner(
            self.make_app(), handle_signals=False, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _as_int(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)
