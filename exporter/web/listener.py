"""The listening sockets: the app served on one address, over TLS when the web config says
so, with the connections capped (see connections.py) and new TLS settings applied to the
connections accepted after a change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from exporter.web.connections import (
    HEAD_SECONDS,
    Acceptor,
    ConnectionTable,
    bind_listening_sockets,
)
from exporter.web.guard import LiveWebConfig
from exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# An idle keep-alive connection is closed after this long (the first request, and the head of
# every request, have a shorter deadline: connections.HEAD_SECONDS). Prometheus scrapes every
# 15-60s and reconnects when a kept-alive connection was closed.
KEEPALIVE_SECONDS = 75.0
SHUTDOWN_SECONDS = 2.0
# Open connections (counted from accept, TLS handshakes included) are capped below the
# open-files limit, leaving room for the upstream connections, the listening sockets and files;
# beyond the cap, a new connection closes one that is not serving a request.
MAX_CONNECTIONS = 1024
RESERVED_FILES = 64
MIN_CONNECTIONS = 16


class Listener:
    """The listening sockets, bound once: new TLS settings apply to the connections accepted
    after them (those already open finish on the old ones), so a reload never leaves the port
    unbound for another process to take."""

    def __init__(
        self,
        sockets: list[socket.socket],
        config: WebConfig | None,
        connections: ConnectionTable,
    ) -> None:
        self._sockets = sockets
        self._ssl_context = config.ssl_context if config is not None else None
        self._allowed_sans = config.tls.allowed_sans if config and config.tls else ()
        self.connections = connections

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return int(self._sockets[0].getsockname()[1])

    @property
    def tls(self) -> bool:
        return self._ssl_context is not None

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self._sockets)

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self._ssl_context

    async def restart(self, config: WebConfig) -> bool:
        """Serve the new TLS settings to every connection accepted from now on."""
        self._ssl_context = config.ssl_context
        self._allowed_sans = config.tls.allowed_sans if config.tls is not None else ()
        log.info("new TLS settings in force: TLS %s", "on" if self.tls else "off")
        return True

    def tls_for_new_connections(self) -> tuple[ssl.SSLContext | None, tuple[str, ...]]:
        """The TLS context, and the client certificate SANs allowed (none: any)."""
        return self._ssl_context, self._allowed_sans

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()


def connection_limit() -> int:
    """How many connections may be open at once, given the open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft - RESERVED_FILES))


@asynccontextmanager
async def serving(
    app: web.Application,
    host: str | None,
    port: int,
    live: LiveWebConfig | None = None,
    keepalive_timeout: float = KEEPALIVE_SECONDS,
    max_connections: int | None = None,
    head_seconds: float = HEAD_SECONDS,
) -> AsyncIterator[Listener]:
    """The app served on host:port until the block ends; with a web config, TLS as it says and
    its files watched for changes; at most `max_connections` (by default as many as the
    open-files limit leaves room for) open at once, each given `head_seconds` to finish its TLS
    handshake and send a request head. OSError if the address cannot be bound."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_SECONDS,
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    assert runner.server is not None
    watcher: asyncio.Task[None] | None = None
    acceptor: Acceptor | None = None
    listener: Listener | None = None
    try:
        table = ConnectionTable(max_connections or connection_limit(), head_seconds)
        listener = Listener(
            bind_listening_sockets(host, port),
            live.current if live is not None else None,
            table,
        )
        acceptor = Acceptor(runner.server, table, listener.tls_for_new_connections)
        acceptor.start(listener.sockets)
        if live is not None:
            live.on_tls_change = listener.restart
            watcher = asyncio.create_task(live.watch(), name="web-config-watch")
        yield listener
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if acceptor is not None:
            await acceptor.stop()
        if listener is not None:
            listener.close()
        await runner.cleanup()
