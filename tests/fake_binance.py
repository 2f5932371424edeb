"""A fake Binance API on loopback whose answers each test scripts."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

V1_PATH = "/sapi/v1/portfolio/collateralRate"
CHUNK = b"x" * 65536


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


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    at: float


def error_body(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}).encode()


def rates_body(rates: Mapping[str, str]) -> bytes:
    entries = [{"asset": asset, "collateralRate": rate} for asset, rate in rates.items()]
    return json.dumps(entries, ensure_ascii=False).encode()


class FakeBinance:
    """Serves /sapi/v1/portfolio/collateralRate; faults are queued with `enqueue` or set sticky
    with `always`. Every request is recorded in `requests`."""

    def __init__(self, rates: Mapping[str, str] | None = None) -> None:
        self.rates: dict[str, str] = dict(rates or {"BTC": "0.9500", "USDT": "1.0000"})
        self.used_weight = 50
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._sticky: Reply | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    def always(self, reply: Reply | None) -> None:
        self._sticky = reply

    def count(self, path: str = V1_PATH) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def _next_reply(self) -> Reply:
        if self._queue:
            return self._queue.popleft()
        return self._sticky or Reply()

    async def _handle_v1(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        return await self._answer(request, self._next_reply(), lambda: rates_body(self.rates))

    def _record(self, request: web.Request) -> None:
        self.requests.append(
            RecordedRequest(request.path, dict(request.query), dict(request.headers), time.time())
        )

    async def _answer(
        self, request: web.Request, reply: Reply, default_body: object
    ) -> web.StreamResponse:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        weight = self.used_weight if reply.used_weight is None else reply.used_weight
        headers = {"X-SAPI-USED-IP-WEIGHT-1M": str(weight), **reply.headers}
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
        if body is None:
            assert callable(default_body)
            body = default_body()
        headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        return web.Response(status=reply.status, body=body, headers=headers)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(V1_PATH, self._handle_v1)
        return app

    async def start(self, host: str = "127.0.0.1") -> str:
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, shutdown_timeout=0.5)
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
