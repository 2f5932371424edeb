"""What a connection may hold before it authenticates: a bounded request head, a deadline to
finish the TLS handshake and send the head, a place under the connection cap from accept on
(TLS handshakes included), no wait for a client's close_notify; and the listening socket kept
through a TLS reload."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from exporter.web.connections import MAX_HEAD_BYTES, TLS_SHUTDOWN_SECONDS
from tests.support.exporter import Served, served
from tests.support.fake_binance import FakeBinance
from tests.support.pki import Pki, make_pki

REQUEST_START = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def tls_config(tmp_path: Path, pki: Pki) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(
        f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"
    )
    return path


async def answer_to(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        async with asyncio.timeout(5):
            try:
                return await reader.read(65536)
            except ConnectionResetError:
                return b"<reset>"
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True if the server closes the connection within `seconds` (EOF or reset)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def scrape(server: Served, context: ssl.SSLContext | None = None) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(server.url + "/metrics", ssl=context or True) as response,
    ):
        await response.read()
        return response.status


async def eventually(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_head_larger_than_the_limit_as_a_whole_is_refused(fake: FakeBinance) -> None:
    lines = b"".join(b"X-Line-%d: %s\r\n" % (i, b"v" * 900) for i in range(30))
    assert len(lines) > MAX_HEAD_BYTES
    assert max(map(len, lines.split(b"\r\n"))) < 1000
    async with served(fake.url) as server:
        answer = await answer_to(server.listener.port, REQUEST_START + lines + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 ") or answer == b"<reset>"
        pad = b"p" * ((MAX_HEAD_BYTES - len(REQUEST_START) - 300) // 2)
        just_under = b"X-Pad-1: " + pad + b"\r\nX-Pad-2: " + pad + b"\r\n"
        answer = await answer_to(server.listener.port, REQUEST_START + just_under + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert await scrape(server) == 200


async def test_a_head_with_too_many_fields_is_refused(fake: FakeBinance) -> None:
    fields = b"".join(b"X-F%d: 1\r\n" % i for i in range(100))
    async with served(fake.url) as server:
        answer = await answer_to(server.listener.port, REQUEST_START + fields + b"\r\n")
        assert answer.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 ", b"HTTP/1.1 431 "))
        assert await scrape(server) == 200


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_a_head_sent_slowly_is_cut_off_at_the_head_deadline(
    fake: FakeBinance, tmp_path: Path, tls: bool
) -> None:
    pki = make_pki(tmp_path / "pki")
    context = pki.client_context() if tls else None
    web_config = tls_config(tmp_path, pki) if tls else None
    async with served(fake.url, web_config=web_config, head_seconds=0.5) as server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.listener.port, ssl=context
        )
        writer.write(REQUEST_START)

        async def dribble() -> None:
            for turn in range(60):  # under the field limit, for 6 s, never finishing
                if writer.is_closing():
                    return
                writer.write(b"X-%d: 1\r\n" % turn)
                await asyncio.sleep(0.1)

        dribbler = asyncio.create_task(dribble())
        try:
            assert await closed_by_server(reader, 3.0)
        finally:
            dribbler.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await dribbler
            writer.close()
        assert await scrape(server, context) == 200


async def test_a_silent_connection_is_closed_at_the_head_deadline_without_tls_state(
    fake: FakeBinance, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    async with served(fake.url, web_config=tls_config(tmp_path, pki), head_seconds=0.5) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.listener.port)
        try:
            assert await eventually(lambda: len(server.listener.connections) == 1, 2)
            connection = next(iter(server.listener.connections._open))
            assert connection.handler is None
            assert connection.waiting is not None
            assert await closed_by_server(reader, 3.0)
        finally:
            writer.close()
        assert await eventually(lambda: len(server.listener.connections) == 0, 2)


async def test_tls_handshakes_count_against_the_connection_cap(
    fake: FakeBinance, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    cap = 10
    async with served(
        fake.url, web_config=tls_config(tmp_path, pki), max_connections=cap
    ) as server:
        most = 0
        writers = []
        try:
            for _ in range(40):  # connections that never send a ClientHello
                _, writer = await asyncio.open_connection("127.0.0.1", server.listener.port)
                writers.append(writer)
                most = max(most, len(server.listener.connections))
            for _ in range(40):  # and some that start one and stop: b"\x16\x03\x01"
                _, writer = await asyncio.open_connection("127.0.0.1", server.listener.port)
                writer.write(b"\x16\x03\x01")
                writers.append(writer)
                await asyncio.sleep(0)
                most = max(most, len(server.listener.connections))
            for _ in range(3):
                assert await scrape(server, pki.client_context()) == 200
                most = max(most, len(server.listener.connections))
        finally:
            for writer in writers:
                writer.close()
        assert most <= cap
        assert server.listener.connections.evictions >= 70


def idle_tls_client(port: int, context: ssl.SSLContext, done: threading.Event) -> None:
    """A TLS client that completes the handshake, then neither sends nor reads anything, so
    it never answers the server's close_notify."""
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        done.wait(10)


@pytest.mark.slow
async def test_a_closed_tls_connection_does_not_wait_for_the_clients_close_notify(
    fake: FakeBinance, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    async with served(fake.url, web_config=tls_config(tmp_path, pki), head_seconds=0.5) as server:
        done = threading.Event()
        client = threading.Thread(
            target=idle_tls_client, args=(server.listener.port, pki.client_context(), done)
        )
        client.start()
        try:
            connections = server.listener.connections
            assert await eventually(lambda: len(connections) == 1, 3)
            # closed at the head deadline (0.5 s), then at most TLS_SHUTDOWN_SECONDS for the
            # close_notify that never comes; asyncio's own wait is 30 s
            assert await eventually(lambda: len(connections) == 0, 0.5 + TLS_SHUTDOWN_SECONDS + 2)
        finally:
            done.set()
            await asyncio.to_thread(client.join)


async def test_memory_is_released_once_many_connections_have_gone(fake: FakeBinance) -> None:
    async with served(fake.url, head_seconds=5) as server:
        memory = server.listener.connections.memory
        memory._delay = 0.05
        writers = []
        for _ in range(300):
            _, writer = await asyncio.open_connection("127.0.0.1", server.listener.port)
            writers.append(writer)
        assert await eventually(lambda: len(server.listener.connections) == 300, 5)
        assert memory.releases == 0
        for writer in writers:
            writer.close()
        assert await eventually(lambda: memory.releases == 1, 5)


def try_to_take(port: int, stop: threading.Event, taken: list[socket.socket]) -> None:
    """Another process' attempt to bind the port, again and again."""
    while not stop.is_set():
        sock = socket.socket()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        taken.append(sock)
        return


async def test_a_tls_reload_keeps_the_listening_socket(fake: FakeBinance, tmp_path: Path) -> None:
    first, renewed = make_pki(tmp_path / "first"), make_pki(tmp_path / "renewed")
    path = tls_config(tmp_path, first)
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        port = server.listener.port
        assert await scrape(server, first.client_context()) == 200
        stop = threading.Event()
        taken: list[socket.socket] = []
        rival = threading.Thread(target=try_to_take, args=(port, stop, taken))
        rival.start()
        try:
            path.write_text(tls_config(tmp_path, renewed).read_text() + "\n")
            assert await server.live.reload("test")
            assert await scrape(server, renewed.client_context()) == 200
        finally:
            stop.set()
            await asyncio.to_thread(rival.join)
            for sock in taken:
                sock.close()
        assert taken == []
        assert server.listener.port == port
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await scrape(server, first.client_context())
