"""The listening socket: the app served on one address, over TLS when the web config says so,
with the socket re-opened when the TLS settings or certificate files change."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from exporter.web.guard import LiveWebConfig
from exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# A connection that has not completed a request within this time is closed, and so is an idle
# keep-alive connection: slow or stalled clients cannot hold sockets for long. Prometheus scrapes
# every 15-60s and reconnects when a kept-alive connection was closed.
KEEPALIVE_SECONDS = 75.0
SHUTDOWN_SECONDS = 2.0
# Open connections are capped below the open-files limit, leaving room for the upstream
# connections, the listening sockets and files; beyond the cap, a new connection closes the
# oldest one that is not serving a request.
MAX_CONNECTIONS = 1024
RESERVED_FILES = 64
MIN_CONNECTIONS = 16
# accept() failing for want of descriptors or memory is logged at most once per this long.
ACCEPT_ERROR_LOG_SECONDS = 60.0
ACCEPT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Listener:
    def __init__(self, runner: web.AppRunner, host: str | None, port: int) -> None:
        self._runner = runner
        self._host = host
        self._port = port
        self._site: web.TCPSite | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._lock = asyncio.Lock()

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return self._port

    @property
    def tls(self) -> bool:
        return self._ssl_context is not None

    async def start(self, ssl_context: ssl.SSLContext | None) -> None:
        site = web.TCPSite(
            self._runner, self._host, self._port, ssl_context=ssl_context, reuse_address=True
        )
        await site.start()
        self._port = site.port
        self._site = site
        self._ssl_context = ssl_context

    async def reopen(self) -> bool:
        """Open the listening socket again with the same settings (after the event loop closed
        it); retried every second until it succeeds."""
        async with self._lock:
            if self._site is not None:
                with contextlib.suppress(Exception):
                    await self._site.stop()
            while True:
                try:
                    await self.start(self._ssl_context)
                except OSError as exc:
                    log.error("cannot re-open the listening socket: %s", exc.strerror or exc)
                    await asyncio.sleep(1.0)
                else:
                    log.warning("listening socket re-opened after accept() failed")
                    return True

    async def restart(self, config: WebConfig) -> bool:
        """Re-open the socket with the new TLS settings; connections already open finish on
        the old ones. If the new socket cannot be opened, the old settings are restored and
        False is returned."""
        async with self._lock:
            old_context = self._ssl_context
            if self._site is not None:
                await self._site.stop()
            try:
                await self.start(config.ssl_context)
            except OSError as exc:
                log.error("cannot re-open the listening socket with the new TLS settings: %s", exc)
                await self.start(old_context)
                return False
            log.info("listening socket re-opened: TLS %s", "on" if self.tls else "off")
            return True


def connection_limit() -> int:
    """How many connections may be open at once, given the open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft - RESERVED_FILES))


def cap_connections(server: web.Server, limit: int) -> None:
    """At most `limit` connections open: one more closes the oldest that is not serving a
    request (an idle keep-alive connection, or one still sending its request)."""
    open_connections: OrderedDict[RequestHandler, None] = OrderedDict()
    made, lost = server.connection_made, server.connection_lost

    def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
        made(handler, transport)
        open_connections[handler] = None
        if len(open_connections) > limit:
            for oldest in open_connections:
                if oldest is not handler and not getattr(oldest, "_request_in_progress", False):
                    del open_connections[oldest]
                    oldest.force_close()
                    break

    def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
        open_connections.pop(handler, None)
        lost(handler, exc)

    server.connection_made = connection_made  # type: ignore[method-assign]
    server.connection_lost = connection_lost  # type: ignore[method-assign]


class AcceptErrorLimiter:
    """The event loop's exception handler: accept() failing for want of descriptors or memory
    (asyncio's "socket.accept() out of system resource", uvloop's failed listen callback) is
    logged as one WARNING line at most once per ACCEPT_ERROR_LOG_SECONDS, not a traceback per
    attempt; anything else goes to the handler that was there before. uvloop closes its
    listening socket on such a failure: `reopen` is called then to open it again."""

    def __init__(
        self,
        previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None,
        reopen: Callable[[], None] | None = None,
        interval: float = ACCEPT_ERROR_LOG_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._previous = previous
        self._reopen = reopen
        self._interval = interval
        self._monotonic = monotonic
        self._next_log = -float("inf")
        self._unlogged = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not (isinstance(exc, OSError) and exc.errno in ACCEPT_ERRNOS):
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        self._unlogged += 1
        now = self._monotonic()
        if now >= self._next_log:
            log.warning(
                "cannot accept connections: %s (%d times since the last such line; "
                "connections beyond the open-files limit wait or are refused)",
                exc.strerror or exc,
                self._unlogged,
            )
            self._unlogged = 0
            self._next_log = now + self._interval
        closed = str(context.get("message", "")).startswith("Fatal error on server")
        if closed and self._reopen is not None:
            self._reopen()


def limit_accept_errors(
    loop: asyncio.AbstractEventLoop, reopen: Callable[[], None] | None = None
) -> AcceptErrorLimiter:
    limiter = AcceptErrorLimiter(loop.get_exception_handler(), reopen)
    loop.set_exception_handler(limiter)
    return limiter


@asynccontextmanager
async def serving(
    app: web.Application,
    host: str | None,
    port: int,
    live: LiveWebConfig | None = None,
    keepalive_timeout: float = KEEPALIVE_SECONDS,
    max_connections: int | None = None,
) -> AsyncIterator[Listener]:
    """The app served on host:port until the block ends; with a web config, TLS as it says and
    its files watched for changes; at most `max_connections` (by default as many as the
    open-files limit leaves room for) open at once. OSError if the address cannot be bound."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_SECONDS,
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    assert runner.server is not None
    cap_connections(runner.server, max_connections or connection_limit())
    watcher: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    reopening: set[asyncio.Task[bool]] = set()
    try:
        listener = Listener(runner, host, port)
        await listener.start(live.current.ssl_context if live is not None else None)

        def reopen() -> None:
            if not reopening:
                task = loop.create_task(listener.reopen())
                reopening.add(task)
                task.add_done_callback(reopening.discard)

        limit_accept_errors(loop, reopen)
        if live is not None:
            live.on_tls_change = listener.restart
            watcher = asyncio.create_task(live.watch(), name="web-config-watch")
        yield listener
    finally:
        loop.set_exception_handler(previous_handler)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await runner.cleanup()
