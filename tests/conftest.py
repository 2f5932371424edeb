from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import load_config
from exporter.service import Exporter, running_exporter
from exporter.web.app import make_app
from tests.fake_binance import FakeBinance

API_KEY = "test-api-key-0123456789"
PLAIN_ACCEPT = "text/plain;version=0.0.4"


@dataclass
class Running:
    """The real exporter app served on loopback, with its parts reachable for assertions."""

    client: TestClient[web.Request, web.Application]
    exporter: Exporter

    async def scrape(self, **headers: str) -> str:
        response = await self.client.get("/metrics", headers={"Accept": PLAIN_ACCEPT, **headers})
        assert response.status == 200
        return await response.text()

    async def samples(self, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return parse_samples(await self.scrape(**headers))


def parse_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def rates_of(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
    return {
        dict(labels)["asset"]: value
        for (name, labels), value in samples.items()
        if name == "binance_pm_collateral_rate"
    }


StartExporter = Callable[..., Awaitable[Running]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    server = FakeBinance()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_exporter(
    fake: FakeBinance,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> AsyncIterator[StartExporter]:
    """Starts the real exporter app against the fake Binance; extra flags as arguments."""
    async with AsyncExitStack() as stack:

        async def start(*flags: str, env: dict[str, str] | None = None) -> Running:
            argv = ["--api-base-url", fake.url, "--api-key", API_KEY, "--min-interval", "0", *flags]
            config = load_config(argv, env or {})
            exporter = await stack.enter_async_context(running_exporter(config))
            client = await aiohttp_client(make_app(exporter))
            return Running(client, exporter)

        yield start
