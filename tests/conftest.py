"""The shared fixtures. Helpers live in tests/support/; nothing imports this module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.exporter import AiohttpClient, StartExporter, exporter_starter
from tests.support.fake_binance import FakeBinance


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    server = FakeBinance()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_exporter(
    fake: FakeBinance, aiohttp_client: AiohttpClient
) -> AsyncIterator[StartExporter]:
    """Starts the real exporter app against the fake Binance; extra flags as arguments."""
    async with exporter_starter(fake.url, aiohttp_client) as start:
        yield start
