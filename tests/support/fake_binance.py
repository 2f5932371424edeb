"""A fake Binance API on loopback whose answers each test scripts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from aiohttp import web

V1_PATH = "/sapi/v1/portfolio/collateralRate"
V2_PATH = "/sapi/v2/portfolio/collateralRate"
TIME_PATH = "/api/v3/time"
CHUNK = b"x" * 65536
SAPI_WEIGHT_HEADER = "X-SAPI-USED-IP-WEIGHT-1M"
API_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
MAX_RECV_WINDOW_MS = 60000
DEFAULT_RECV_WINDOW_MS = 5000
NO_CAP = "99999999999.0000"


@dataclass(frozen=True)
class Reply:
    """One scripted answer. With no body, the current rates are served as Binance would."""

    status: int = 200
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False
    stream_bytes: int = 0
    used_weight: int | None = None
    echo_request: bool = False  # the body is a firewall page quoting the request line back
    # The reason phrase of the status line; a callable makes it from the request's path and
    # query (a proxy quoting the request back).
    reason: str | Callable[[str], str] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    at: float
    query_string: str = ""


def error_body(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}).encode()


def rates_body(rates: Mapping[str, str]) -> bytes:
    entries = [{"asset": asset, "collateralRate": rate} for asset, rate in rates.items()]
    return json.dumps(entries, ensure_ascii=False).encode()


def tier(floor: str, cap: str, rate: str, cum: str = "0.0000") -> dict[str, str]:
    return {"tierFloor": floor, "tierCap": cap, "collateralRate": rate, "cum": cum}


def tiers_body(tiers: Mapping[str, list[dict[str, str]]]) -> bytes:
    entries = [{"asset": asset, "collateralInfo": info} for asset, info in tiers.items()]
    return json.dumps(entries, ensure_ascii=False).encode()


DEFAULT_TIERS = {
    "BTC": [
        tier("0.0000", "1000000.0000", "0.9500"),
        tier("1000000.0000", NO_CAP, "0.9000", "50000.0000"),
    ],
    "USDT": [tier("0.0000", NO_CAP, "1.0000")],
}


class FakeBinance:
    """Serves /sapi/v1/portfolio/collateralRate, the signed /sapi/v2/portfolio/collateralRate
    and /api/v3/time; faults are queued per path with `enqueue` or set sticky with `always`.
    Every request is recorded in `requests`.

    v2 requests are checked as Binance does: an API key is present; `timestamp` (and optional
    `recvWindow`, at most 60000) are present; `signature`, the last parameter, is the hex
    HMAC-SHA256 of the raw query string before it, keyed with `api_secret` (case-insensitive);
    the timestamp is less than 1s ahead of the fake's clock and at most recvWindow behind it.
    The fake's clock is the local one plus `server_offset_ms`."""

    def __init__(self, rates: Mapping[str, str] | None = None) -> None:
        self.rates: dict[str, str] = dict(rates or {"BTC": "0.9500", "USDT": "1.0000"})
        self.tiers: dict[str, list[dict[str, str]]] = {k: list(v) for k, v in DEFAULT_TIERS.items()}
        self.api_secret: str | None = None
        self.server_offset_ms = 0.0
        self.used_weight = 50
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Reply]] = {}
        self._sticky: dict[str, Reply | None] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def enqueue(self, *replies: Reply, path: str = V1_PATH) -> None:
        self._queues.setdefault(path, deque()).extend(replies)

    def always(self, reply: Reply | None, path: str = V1_PATH) -> None:
        self._sticky[path] = reply

    def count(self, path: str = V1_PATH) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def server_time_ms(self) -> float:
        return time.time() * 1000.0 + self.server_offset_ms

    def _next_reply(self, path: str = V1_PATH) -> Reply:
        queue = self._queues.get(path)
        if queue:
            return queue.popleft()
        return self._sticky.get(path) or Reply()

    async def _handle_v1(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        return await self._answer(request, self._next_reply(), lambda: rates_body(self.rates))

    async def _handle_v2(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        reply = self._next_reply(V2_PATH)
        if reply.status == 200 and reply.body is None and not reply.reset:
            refused = self.signed_request_error(request)
            if refused is not None:
                reply = replace(reply, status=refused[0], body=refused[1], stream_bytes=0)
        return await self._answer(request, reply, lambda: tiers_body(self.tiers))

    async def _handle_time(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        return await self._answer(
            request,
            self._next_reply(TIME_PATH),
            lambda: json.dumps({"serverTime": int(self.server_time_ms())}).encode(),
            weight_header=API_WEIGHT_HEADER,
        )

    def signed_request_error(self, request: web.Request) -> tuple[int, bytes] | None:
        """Binance's refusal of a signed request as (status, body), or None if it passes."""
        if not request.headers.get("X-MBX-APIKEY"):
            return 401, error_body(-2014, "API-key format invalid.")
        raw = request.rel_url.raw_query_string
        query = request.rel_url.query
        timestamp = _as_int(query.get("timestamp"))
        if timestamp is None:
            return 400, _mandatory("timestamp")
        recv_window = _as_int(query.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS)))
        if recv_window is None or recv_window <= 0:
            return 400, _mandatory("recvWindow")
        if recv_window > MAX_RECV_WINDOW_MS:
            return 400, error_body(-1131, "recvWindow must be less than 60000")
        payload, marker, given = raw.rpartition("&signature=")
        if not marker or not given:
            return 400, _mandatory("signature")
        expected = hmac.new(
            (self.api_secret or "").encode(), payload.encode(), hashlib.sha256
        ).hexdigest()
        if self.api_secret is None or not hmac.compare_digest(given.lower(), expected):
            return 400, error_body(-1022, "Signature for this request is not valid.")
        now = self.server_time_ms()
        if timestamp >= now + 1000:
            return 400, error_body(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            return 400, error_body(
                -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return None

    def _record(self, request: web.Request) -> None:
        self.requests.append(
            RecordedRequest(
                request.path,
                dict(request.query),
                dict(request.headers),
                time.time(),
                request.query_string,
            )
        )

    async def _answer(
        self,
        request: web.Request,
        reply: Reply,
        default_body: object,
        weight_header: str = SAPI_WEIGHT_HEADER,
    ) -> web.StreamResponse:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        weight = self.used_weight if reply.used_weight is None else reply.used_weight
        headers = {weight_header: str(weight), **reply.headers}
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
            assert callable(default_body)
            body = default_body()
        headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        reason = reply.reason(request.path_qs) if callable(reply.reason) else reply.reason
        return web.Response(status=reply.status, body=body, headers=headers, reason=reason)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(V1_PATH, self._handle_v1)
        app.router.add_get(V2_PATH, self._handle_v2)
        app.router.add_get(TIME_PATH, self._handle_time)
        return app

    async def start(self, host: str = "127.0.0.1") -> str:
        # No access log: it would print signed query strings into the tests' log capture.
        self._runner = web.AppRunner(
            self.make_app(), handle_signals=False, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _as_int(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


def _mandatory(name: str) -> bytes:
    return error_body(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )
