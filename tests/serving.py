"""The real exporter stack served on a loopback socket, exactly as `serve` runs it (listener,
TLS, web config guard, keep-alive limits), for tests that need more than aiohttp's test
client: TLS, raw sockets, slow clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from exporter.config import load_config
from exporter.service import Exporter, running_exporter
from exporter.web.app import make_app
from exporter.web.connections import HEAD_SECONDS
from exporter.web.guard import LiveWebConfig
from exporter.web.listener import KEEPALIVE_SECONDS, Listener, serving
from exporter.web.webconfig import load_web_config
from tests.conftest import API_KEY


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
    argv = ["--api-base-url", upstream_url, "--api-key", API_KEY, "--min-interval", "0", *flags]
    config = load_config(argv, {})
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
