"""Floods of hostile connections against an exporter: openers of connections that never
finish their request head, never send a ClientHello or sit idle after the TLS handshake, held by
the thousand while the exporter's resident size is watched and a scrape is timed. Used by the
flood tests and by the connection-memory benchmark (bench/connection_memory.py)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from exporter.web.connections import MAX_HEAD_BYTES
from tests.support.process import ExporterProcess

FLOOD_CONNECTIONS = 2000
OPEN_AT_ONCE = 50
SETTLE_SECONDS = 3.0
HEAD_START = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"

PAGE_BYTES = 4096


class Target(Protocol):
    """An exporter process under a flood: where it listens and how big it is."""

    @property
    def port(self) -> int: ...

    @property
    def tls(self) -> ssl.SSLContext | None: ...

    @property
    def url(self) -> str: ...

    def rss(self) -> int: ...


@dataclass
class ProcessTarget:
    """An exporter of `tests.support.process.exporter_process` as a flood's target."""

    running: ExporterProcess
    tls: ssl.SSLContext | None

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def url(self) -> str:
        return self.running.url + "/metrics"

    def rss(self) -> int:
        pid = self.running.process.pid
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES


async def scrape_seconds(exporter: Target) -> float | None:
    """How long one scrape on a new connection takes, or None if it fails within 30 s."""
    started = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.get(exporter.url, ssl=exporter.tls or True) as response,
        ):
            await response.read()
            if response.status != 200:
                return None
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    return time.perf_counter() - started


Opener = Callable[[int], Awaitable[asyncio.StreamWriter | None]]


async def open_silent(port: int) -> asyncio.StreamWriter | None:
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        return writer
    return None


def tls_idle(context: ssl.SSLContext) -> Opener:
    async def open_idle(port: int) -> asyncio.StreamWriter | None:
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            _, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=context), 15
            )
            return writer
        return None

    return open_idle


def partial_head(context: ssl.SSLContext | None) -> Opener:
    filler = b"X-Filler: " + b"a" * 8000 + b"\r\n"
    head = HEAD_START + filler * ((MAX_HEAD_BYTES - len(HEAD_START) - 64) // len(filler))
    head += b"X-Last: " + b"b" * (MAX_HEAD_BYTES - len(head) - 200)

    async def open_partial(port: int) -> asyncio.StreamWriter | None:
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            _, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=context), 15
            )
            writer.write(head)
            return writer
        return None

    return open_partial


async def hold(port: int, count: int, opener: Opener) -> list[asyncio.StreamWriter]:
    writers: list[asyncio.StreamWriter] = []
    for start in range(0, count, OPEN_AT_ONCE):
        batch = await asyncio.gather(
            *(opener(port) for _ in range(min(OPEN_AT_ONCE, count - start)))
        )
        writers.extend(writer for writer in batch if writer is not None)
    return writers


def close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()


@dataclass(frozen=True)
class Flood:
    name: str
    tls: bool
    before: int
    peak: int
    after: int
    scrape: float | None


async def flood(exporter: Target, name: str, opener: Opener, count: int) -> Flood:
    before = exporter.rss()
    peak = before
    writers: list[asyncio.StreamWriter] = []

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, exporter.rss())
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        writers = await hold(exporter.port, count, opener)
        scrape = await scrape_seconds(exporter)
    finally:
        close_all(writers)
        await asyncio.sleep(SETTLE_SECONDS)
        watcher.cancel()
    return Flood(name, exporter.tls is not None, before, peak, exporter.rss(), scrape)
