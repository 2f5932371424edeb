"""Connections from accept to close, with the memory and descriptors each may hold bounded before
any authentication: sockets are accepted one at a time and only while the cap leaves room (a
connection beyond it first closes one that is not serving a request), the TLS handshake and the
request head each have a deadline, and a request head is bounded in size as a whole, per line
and in header fields."""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import contextlib
import ctypes
import errno
import functools
import gc
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from exporter.web.webconfig import certificate_sans

log = logging.getLogger(__name__)

# Like Go's ReadHeaderTimeout: from accept, a client has this long to finish the TLS handshake
# and send its first request head, and from the first byte of each further request, to send
# that head. Prometheus sends one in milliseconds.
HEAD_SECONDS = 10.0
# A request head (request line and header fields) is at most this large; a line (the request
# line, a header field) at most MAX_LINE_BYTES, and at most MAX_HEADER_FIELDS fields.
MAX_HEAD_BYTES = 16 * 1024
MAX_LINE_BYTES = 8190
MAX_HEADER_FIELDS = 64
# After the exporter closes a TLS connection it sends close_notify and waits no longer than
# this for the client's, instead of asyncio's 30 s.
TLS_SHUTDOWN_SECONDS = 1.0
# asyncio's TLS transport reads into a buffer of this size, allocated (and zeroed) for every
# connection when it is accepted; its default, 256 KiB, made each pending TLS connection cost
# a quarter of a megabyte. A TLS record carries at most 16 KiB.
TLS_READ_BUFFER_BYTES = 16 * 1024
# Once this many connections have closed, the memory they held is handed back to the system
# (after a pause, so that a burst of closes costs one release).
RELEASE_AFTER_CLOSES = 256
RELEASE_DELAY_SECONDS = 2.0
LISTEN_BACKLOG = 128
# accept() failing for want of descriptors or memory is logged at most once per this long.
ACCEPT_ERROR_LOG_SECONDS = 60.0
ACCEPT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_RETRY_SECONDS = 0.1

HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 36\r\nConnection: close\r\n\r\n"
    b"431 Request Header Fields Too Large\n"
)


def bound_tls_read_buffer() -> None:
    """asyncio's TLS transport allocates its read buffer at SSLProtocol.max_size per connection
    (a class attribute meant to be tuned); uvloop's allocates lazily and is not affected."""
    protocol: Any = asyncio.sslproto.SSLProtocol
    if protocol.max_size > TLS_READ_BUFFER_BYTES:
        protocol.max_size = TLS_READ_BUFFER_BYTES


class Connection:
    """One accepted socket until it is closed: `waiting` until its first byte arrives,
    `handler` once its TLS handshake is done (at once without TLS)."""

    __slots__ = ("accepted", "allowed_sans", "evicted", "handler", "sock", "table", "waiting")

    def __init__(self, sock: socket.socket, accepted: float, table: ConnectionTable) -> None:
        self.sock = sock
        self.accepted = accepted
        self.table = table
        self.handler: BoundedRequestHandler | None = None
        self.waiting: asyncio.Future[None] | None = None
        self.allowed_sans: tuple[str, ...] = ()
        self.evicted = False

    @property
    def serving(self) -> bool:
        """Serving a request: the one state in which the cap never closes a connection."""
        handler = self.handler
        return handler is not None and handler.transport is not None and handler.serving

    def evict(self) -> None:
        """Close at once, whatever the state: the socket is shut down under the transport,
        which then sees the end of the stream and closes (TLS included, handshake or not)."""
        self.evicted = True
        if self.waiting is not None:  # nothing sent yet: the socket is closed where it waits
            _resolve(self.waiting)
            return
        handler = self.handler
        if handler is not None and handler.transport is not None:
            handler.transport.abort()
            return
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class MemoryRelease:
    """Hands the memory of closed connections back to the system: a full garbage collection
    (asyncio's TLS transports are freed by it, not by reference counting) and glibc's
    malloc_trim, which returns the free pages inside the heap, not just at its top."""

    def __init__(
        self, after_closes: int = RELEASE_AFTER_CLOSES, delay: float = RELEASE_DELAY_SECONDS
    ) -> None:
        self._after_closes = after_closes
        self._delay = delay
        self._closes = 0
        self._pending: asyncio.TimerHandle | None = None
        self.releases = 0

    def closed(self) -> None:
        self._closes += 1
        if self._closes >= self._after_closes and self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(self._delay, self.release)

    def release(self) -> None:
        self._pending = None
        self._closes = 0
        self.releases += 1
        gc.collect()
        trim = _malloc_trim()
        if trim is not None:
            trim(0)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


class ConnectionTable:
    """Every connection from accept to close, at most `limit` at once."""

    def __init__(self, limit: int, head_seconds: float = HEAD_SECONDS) -> None:
        self.limit = limit
        self.head_seconds = head_seconds
        self._open: dict[Connection, None] = {}
        self._evicting = 0
        self._changed = asyncio.Event()
        self.evictions = 0
        self.memory = MemoryRelease()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, sock: socket.socket, accepted: float) -> Connection:
        connection = Connection(sock, accepted, self)
        self._open[connection] = None
        return connection

    def closed(self, connection: Connection) -> None:
        if self._open.pop(connection, False) is None:
            if connection.evicted:
                self._evicting -= 1
            self._changed.set()
            self.memory.closed()

    async def room(self) -> None:
        """Returns once one more connection may be accepted, having closed as many as needed
        (and waited for them to go) to stay within the limit."""
        while len(self._open) >= self.limit:
            if self._evicting <= len(self._open) - self.limit:
                victim = self._victim()
                if victim is not None:
                    victim.evict()
                    self._evicting += 1
                    self.evictions += 1
                    continue
            self._changed.clear()
            await self._changed.wait()

    def _victim(self) -> Connection | None:
        """The oldest connection not serving a request: the newest are the last to go, so a
        scraper that has just connected is not closed for the crowd it arrives in."""
        for connection in self._open:
            if not connection.evicted and not connection.serving:
                return connection
        return None

    def close_all(self) -> None:
        self.memory.cancel()
        for connection in list(self._open):
            if not connection.evicted:
                connection.evict()


class BoundedRequestHandler(RequestHandler):
    """aiohttp's connection handler with the request head bounded in size and time."""

    __slots__ = ("_head_bytes", "_head_deadline", "_requests_at_head", "connection")

    def __init__(self, manager: web.Server, connection: Connection, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.connection = connection
        self._head_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None
        self._requests_at_head = 0

    @property
    def serving(self) -> bool:
        return bool(self._request_in_progress)

    @property
    def requests_seen(self) -> int:
        return int(self._request_count)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.connection.handler = self
        allowed = self.connection.allowed_sans
        if allowed and not certificate_sans(transport.get_extra_info("peercert")) & set(allowed):
            # As the toolkit's VerifyPeerCertificate: a client certificate naming none of the
            # allowed SANs gets no further than its handshake.
            log.debug("client certificate names none of client_allowed_sans: closed")
            self.force_close()
            return
        self._head_deadline = self._loop.call_at(
            self.connection.accepted + self.connection.table.head_seconds, self._head_late
        )

    def data_received(self, data: bytes) -> None:
        awaiting_head = not self._request_in_progress and not self._messages
        if awaiting_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()
                return
            if self._head_deadline is None and data:
                self._head_deadline = self._loop.call_later(
                    self.connection.table.head_seconds, self._head_late
                )
        super().data_received(data)
        if self._request_count != self._requests_at_head:
            self._requests_at_head = self._request_count
            self._head_bytes = 0
            self._cancel_head_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)
        self.connection.handler = None
        self.connection.table.closed(self.connection)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if not self._request_in_progress and not self._messages:
            self.force_close()

    def _refuse_head(self) -> None:
        transport = self.transport
        if transport is not None:
            transport.write(HEAD_TOO_LARGE)
        self.force_close()


class AcceptErrorLog:
    """accept() failing for want of descriptors or memory, as one WARNING line at most once per
    `interval`, with the number of failures since the last line, not a line per attempt."""

    def __init__(
        self,
        interval: float = ACCEPT_ERROR_LOG_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._next_log = -float("inf")
        self._unlogged = 0

    def failed(self, exc: OSError) -> None:
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


class Acceptor:
    """Accepts on the listening sockets, one connection at a time while the table has room,
    each served by a BoundedRequestHandler of `server`, over TLS with the context that
    `tls_context` returns at the time of the accept."""

    def __init__(
        self,
        server: web.Server,
        table: ConnectionTable,
        tls: Callable[[], tuple[ssl.SSLContext | None, tuple[str, ...]]],
    ) -> None:
        self._server = server
        self._table = table
        self._tls = tls
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors = AcceptErrorLog()
        self._handler_kwargs = dict(server._kwargs)
        self._handler_kwargs.update(
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
            max_headers=MAX_HEADER_FIELDS,
        )
        bound_tls_read_buffer()

    def start(self, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            self._spawn(self._accept_loop(sock))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._table.close_all()

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept_loop(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._table.room()
            try:
                sock, _ = await loop.sock_accept(listening)
            except OSError as exc:
                if exc.errno in ACCEPT_ERRNOS:
                    self._errors.failed(exc)
                elif exc.errno not in (errno.ECONNABORTED, errno.EPROTO, errno.EAGAIN):
                    log.error("accept() failed: %s", exc.strerror or exc)
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)
                continue
            connection = self._table.add(sock, loop.time())
            self._spawn(self._admit(connection))

    async def _admit(self, connection: Connection) -> None:
        """Serves the connection once its first byte arrives: until then it costs a socket and
        nothing else (no TLS state, no HTTP parser), and it is closed if none comes in time."""
        loop = asyncio.get_running_loop()
        table = self._table
        try:
            arrived = await self._first_byte(connection)
        except asyncio.CancelledError:
            connection.sock.close()
            table.closed(connection)
            raise
        remaining = connection.accepted + table.head_seconds - loop.time()
        if not arrived or remaining <= 0:
            connection.sock.close()
            table.closed(connection)
            return

        def handler() -> BoundedRequestHandler:
            return BoundedRequestHandler(
                self._server, connection, loop=loop, **self._handler_kwargs
            )

        context, connection.allowed_sans = self._tls()
        try:
            if context is None:
                await loop.connect_accepted_socket(handler, connection.sock)
            else:
                await loop.connect_accepted_socket(
                    handler,
                    connection.sock,
                    ssl=context,
                    ssl_handshake_timeout=remaining,
                    ssl_shutdown_timeout=TLS_SHUTDOWN_SECONDS,
                )
        except asyncio.CancelledError:
            table.closed(connection)
            raise
        except Exception:
            # The handshake failed or timed out: the transport has closed the socket, and no
            # handler was made to count it out.
            table.closed(connection)

    async def _first_byte(self, connection: Connection) -> bool:
        """True once the socket is readable; False if the head deadline passed first or the
        connection was evicted meanwhile."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        connection.waiting = ready
        sock = connection.sock
        fd = sock.fileno()
        loop.add_reader(fd, _resolve, ready)
        try:
            async with asyncio.timeout_at(connection.accepted + self._table.head_seconds):
                await ready
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(fd)
            connection.waiting = None
        if connection.evicted:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) != b""  # b"": closed before sending anything
        except BlockingIOError:
            return await self._first_byte(connection)
        except OSError:
            return False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def bind_listening_sockets(host: str | None, port: int) -> list[socket.socket]:
    """Listening sockets for host:port (every interface, IPv4 and IPv6, for host None), as
    asyncio's create_server binds them; OSError if one cannot be bound."""
    infos = socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        seen: set[tuple[Any, ...]] = set()
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets
