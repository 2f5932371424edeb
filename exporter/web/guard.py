"""The web config at run time: the current WebConfig, re-read when its files change (or on
demand, e.g. on SIGHUP), and the aiohttp middleware that puts basic auth in front of every
path and adds the configured response headers to every response."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from exporter.config import ConfigError
from exporter.web.basicauth import BasicAuthVerifier
from exporter.web.webconfig import RateLimit, WebConfig, current_signature, load_web_config

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
REALM = "binance-pm-exporter"
TlsChanged = Callable[[WebConfig], Awaitable[bool]]


class LiveWebConfig:
    def __init__(self, initial: WebConfig, poll_seconds: float = POLL_SECONDS) -> None:
        self.path: Path = initial.path
        self.current = initial
        self.auth = BasicAuthVerifier()
        self.poll_seconds = poll_seconds
        self.on_tls_change: TlsChanged | None = None
        self._seen = initial.signature
        self._lock = asyncio.Lock()

    async def reload(self, why: str) -> bool:
        """Re-read the file; a bad one is logged and the previous config kept. True if the new
        config was taken."""
        async with self._lock:
            seen = current_signature(self.current)
            try:
                new = load_web_config(self.path)
            except ConfigError as exc:
                self._seen = seen
                log.error("web config not reloaded (%s), keeping the previous one: %s", why, exc)
                return False
            downgrade = security_downgrade(self.current, new)
            if downgrade:
                self._seen = new.signature
                log.error(
                    "web config not reloaded (%s): it would turn %s off while running; keeping "
                    "the previous one (restart the exporter to serve it)",
                    why,
                    downgrade,
                )
                return False
            old, self.current = self.current, new
            self._seen = new.signature
            serve_tls = self.on_tls_change
            if new.tls != old.tls and serve_tls is not None and not await serve_tls(new):
                self.current = old
                log.error("web config not reloaded (%s): its TLS could not be served", why)
                return False
            log.info("web config reloaded (%s)", why)
            return True

    async def reload_if_changed(self) -> bool:
        if current_signature(self.current) == self._seen:
            return False
        return await self.reload("a file changed")

    async def watch(self) -> None:
        """Poll the files for changes until cancelled."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.reload_if_changed()
            except Exception:  # the watcher must outlive any surprise; the next poll retries
                log.exception("checking the web config files failed")


def security_downgrade(old: WebConfig, new: WebConfig) -> str:
    """What `new` would turn off that `old` has (TLS, basic auth, client certificate
    verification), or "" if nothing: an emptied or truncated file must not drop them."""
    dropped = []
    if old.tls is not None and new.tls is None:
        dropped.append("TLS")
    if old.users and not new.users:
        dropped.append("basic auth")
    if (
        old.tls is not None
        and new.tls is not None
        and old.tls.verify_mode == ssl.CERT_REQUIRED
        and new.tls.verify_mode != ssl.CERT_REQUIRED
    ):
        dropped.append("required client certificates")
    return " and ".join(dropped)


class TokenBucket:
    """Go's rate.Limiter as the toolkit uses it: `burst` tokens, one more every `interval`
    seconds, a request takes one or is refused."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._at = clock()

    def allow(self) -> bool:
        now = self._clock()
        elapsed, self._at = now - self._at, now
        self._tokens = min(float(self.limit.burst), self._tokens + elapsed / self.limit.interval)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def too_many_requests() -> web.Response:
    return web.Response(status=429, text="429 Too Many Requests\n")


def unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text="401 Unauthorized\n",
        headers={hdrs.WWW_AUTHENTICATE: f'Basic realm="{REALM}", charset="UTF-8"'},
    )


def install_guard(app: web.Application, live: LiveWebConfig) -> None:
    """The rate limit, then basic auth on every path (when users are configured), and the extra
    headers on every response, all as configured at the time of the request."""
    buckets: list[TokenBucket] = []

    @web.middleware
    async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        limit = live.current.rate_limit
        if limit is None:
            return await handler(request)
        if not buckets or buckets[0].limit != limit:
            buckets[:] = [TokenBucket(limit)]
        if not buckets[0].allow():
            return too_many_requests()
        return await handler(request)

    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        users = live.current.users
        if users and not await live.auth.verify(
            request.headers.get(hdrs.AUTHORIZATION), users, request.remote
        ):
            return unauthorized()
        return await handler(request)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in live.current.headers.items():
            response.headers[name] = value

    app.middlewares.append(rate_limit)
    app.middlewares.append(basic_auth)
    app.on_response_prepare.append(add_headers)
