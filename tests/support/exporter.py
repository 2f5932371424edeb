"""The real exporter app in-process, on loopback, with its parts reachable for assertions:
`Running` through aiohttp's test client (the `start_exporter` fixture), `served` through the
exporter's own listener (TLS, raw sockets, slow clients). For the exporter as a child process,
see `tests.support.process`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from exporter.config import load_config
from exporter.service import Exporter, running_exporter
from exporter.web.app import make_app
from exporter.web.connections import HEAD_SECONDS
from exporter.web.guard import LiveWebConfig
from exporter.web.listener import KEEPALIVE_SECONDS, Listener, serving
from exporter.web.webconfig import load_web_config
from tests.support.samples import Samples, parse_samples

API_KEY = "test-api-key-0123456789"
SECRET = "test-api-secret-abcdefghijklmnopqrstuvwxyz0123456789"
WITH_SECRET = {"BINANCE_API_SECRET": SECRET}
PLAIN_ACCEPT = "text/plain;version=0.0.4"
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)

AiohttpClient = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@dataclass
class Running:
    """The real exporter app served by aiohttp's test client."""

    client: TestClient[web.Request, web.Application]
    exporter: Exporter

    async def scrape(self, **headers: str) -> str:
        response = await self.client.get("/metrics", headers={"Accept": PLAIN_ACCEPT, **headers})
        assert response.status == 200
        return await response.text()

    async def samples(self, **headers: str) -> Samples:
        return parse_samples(await self.scrape(**headers))


StartExporter = Callable[..., Awaitable[Running]]


def exporter_argv(upstream_url: str, *flags: str) -> list[str]:
    return ["--api-base-url", upstream_url, "--api-key", API_KEY, "--min-interval", "0", *flags]


@asynccontextmanager
async def exporter_starter(
    upstream_url: str, aiohttp_client: AiohttpClient
) -> AsyncIterator[StartExporter]:
    """Starts real exporter apps against `upstream_url`; extra flags as arguments. Each one
    stops when the context ends."""
    async with AsyncExitStack() as stack:

        async def start(*flags: str, env: dict[str, str] | None = None) -> Running:
            config = load_config(exporter_argv(upstream_url, *flags), env or {})
            exporter = await stack.enter_async_context(running_exporter(config))
            client = await aiohttp_client(make_app(exporter))
            return Running(client, exporter)

        yield start


@dataclass
class Served:
    exporter: Exporter
    listener: Listener
    live: LiveWebConfig | None

    @property
    def url(self) -> str:
        scheme = "https" if self.listener.tls else "http"
        return f"{scheme}://127.0.0.1:{self.listener.port}"


@asynccontextmanager
async def served(
    upstream_url: str,
    *flags: str,
    web_config: Path | None = None,
    poll_seconds: float = 0.05,
    keepalive_timeout: float = KEEPALIVE_SECONDS,
    max_connections: int | None = None,
    head_seconds: float = HEAD_SECONDS,
) -> AsyncIterator[Served]:
    """The real exporter stack on a loopback socket, exactly as `serve` runs it (listener, TLS,
    web config guard, keep-alive limits)."""
    config = load_config(exporter_argv(upstream_url, *flags), {})
    live = None
    if web_config is not None:
        live = LiveWebConfig(load_web_config(web_config), poll_seconds=poll_seconds)
    async with (
        running_exporter(config) as exporter,
        serving(
            make_app(exporter, live),
            "127.0.0.1",
            0,
            live,
            keepalive_timeout,
            max_connections=max_connections,
            head_seconds=head_seconds,
        ) as listener,
    ):
        yield Served(exporter, listener, live)
