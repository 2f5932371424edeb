"""Clients that misbehave on purpose: oversized requests, slow ones holding connections open
(slowloris), crowds of idle connections. Scrapes keep being answered, and stalled connections
are closed by the server."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.support.exporter import Served, served
from tests.support.fake_binance import FakeBinance
from tests.support.pki import make_pki
from tests.support.samples import parse_samples, rates_of

IDLE_CONNECTIONS = 300
SLOW_CLIENTS = 150
REQUEST_START = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"


async def exchange(port: int, request: bytes) -> bytes:
    """Sends raw bytes; returns what the server answers before closing (at most 5s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def read_to_close(reader: asyncio.StreamReader) -> bytes:
    """What the server sends before it closes; a reset (the client was still sending) counts
    as a close."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


async def assert_scrapes_answer(server: Served, context: ssl.SSLContext | None, times: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(times):
            async with asyncio.timeout(10):
                async with session.get(
                    server.url + "/metrics", ssl=context if context is not None else True
                ) as response:
                    assert response.status == 200
                    assert rates_of_text(await response.text()) == {"BTC": 0.95, "USDT": 1.0}


def rates_of_text(text: str) -> dict[str, float]:
    return rates_of(parse_samples(text))


@pytest.mark.parametrize(
    "request_bytes",
    [
        REQUEST_START + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n",
        REQUEST_START + b"".join(b"X-H%d: v\r\n" % i for i in range(300)) + b"\r\n",
        b"GET /metrics?" + b"q" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        REQUEST_START + b"X-" + b"n" * 10_000 + b": v\r\n\r\n",
        REQUEST_START + b"Authorization: Basic " + b"A" * 50_000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64) + b"\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ],
    ids=[
        "big-header",
        "many-headers",
        "long-url",
        "long-name",
        "big-auth",
        "tls-on-plain",
        "huge-length",
    ],
)
async def test_oversized_or_garbled_requests_get_an_error_and_scrapes_go_on(
    fake: FakeBinance, request_bytes: bytes
) -> None:
    async with served(fake.url) as server:
        answer = await exchange(server.listener.port, request_bytes)
        assert answer.startswith(
            (b"HTTP/1.1 400", b"HTTP/1.1 413", b"HTTP/1.1 431", b"HTTP/1.0 400")
        )
        await assert_scrapes_answer(server, None, times=3)


@asynccontextmanager
async def crowd(port: int, context: ssl.SSLContext | None) -> AsyncIterator[None]:
    """Idle connections that never send a byte, and slow clients that send a request's headers
    a few bytes at a time and never finish them."""
    writers: list[asyncio.StreamWriter] = []
    for _ in range(IDLE_CONNECTIONS):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
    slow: list[asyncio.StreamWriter] = []
    for _ in range(SLOW_CLIENTS):
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(REQUEST_START)
        slow.append(writer)

    async def dribble() -> None:
        for turn in range(1000):
            for writer in slow:
                if not writer.is_closing():
                    writer.write(b"X-Slow-%d: 1\r\n" % turn)
            await asyncio.sleep(0.1)

    dribbler = asyncio.create_task(dribble())
    try:
        yield
    finally:
        dribbler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dribbler
        for writer in writers + slow:
            writer.close()


@pytest.mark.slow
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_scrapes_answer_while_idle_and_slow_clients_hold_connections(
    fake: FakeBinance, tmp_path: Path, tls: bool
) -> None:
    web_config = None
    context = None
    if tls:
        pki = make_pki(tmp_path / "pki")
        web_config = tmp_path / "web.yml"
        web_config.write_text(
            f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"
        )
        context = pki.client_context()
    async with (
        served(fake.url, web_config=web_config) as server,
        crowd(server.listener.port, context),
    ):
        await asyncio.sleep(0.3)  # let the slow clients trickle in a few lines
        await assert_scrapes_answer(server, context, times=10)


async def test_stalled_connections_are_closed_by_the_server(fake: FakeBinance) -> None:
    async with served(fake.url, keepalive_timeout=0.5, head_seconds=0.5) as server:
        port = server.listener.port
        idle_reader, idle = await asyncio.open_connection("127.0.0.1", port)
        slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)
        slow.write(REQUEST_START)
        kept_reader, kept = await asyncio.open_connection("127.0.0.1", port)
        kept.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

        async def dribble() -> None:
            for turn in range(200):
                if slow.is_closing():
                    return
                slow.write(b"X-%d: 1\r\n" % turn)
                await asyncio.sleep(0.05)

        dribbler = asyncio.create_task(dribble())
        try:
            async with asyncio.timeout(10):
                assert await idle_reader.read() == b""
                assert await read_to_close(slow_reader) == b""
                answered = await kept_reader.read()
            assert answered.startswith(b"HTTP/1.1 200 OK")
            assert answered.endswith(b"ok\n")
            assert not dribbler.done() or dribbler.exception() is None
        finally:
            dribbler.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await dribbler
            for writer in (idle, slow, kept):
                writer.close()
        await assert_scrapes_answer(server, None, times=1)
