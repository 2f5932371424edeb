"""The listening socket: the app served on one address, over TLS when the web config says so,
with the socket re-opened when the TLS settings or certificate files change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from exporter.web.guard import LiveWebConfig
from exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# A connection that has not completed a request within this time is closed, and so is an idle
# keep-alive connection: slow or stalled clients cannot hold sockets for long. Prometheus scrapes
# every 15-60s and reconnects when a kept-alive connection was closed.
KEEPALIVE_SECONDS = 75.0
SHUTDOWN_SECONDS = 2.0


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


@asynccontextmanager
async def serving(
    app: web.Application,
    host: str | None,
    port: int,
    live: LiveWebConfig | None = None,
    keepalive_timeout: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[Listener]:
    """The app served on host:port until the block ends; with a web config, TLS as it says and
    its files watched for changes. OSError if the address cannot be bound."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_SECONDS,
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    watcher: asyncio.Task[None] | None = None
    try:
        listener = Listener(runner, host, port)
        await listener.start(live.current.ssl_context if live is not None else None)
        if live is not None:
            live.on_tls_change = listener.restart
            watcher = asyncio.create_task(live.watch(), name="web-config-watch")
        yield listener
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await runner.cleanup()
