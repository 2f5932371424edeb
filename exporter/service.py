"""Wiring: from a Config to the running parts (HTTP session, client, gates, metrics)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp

from exporter import __version__
from exporter.config import Config
from exporter.exposition import ExpositionCache
from exporter.gate import RefreshGate
from exporter.metrics import ExporterCollector, process_collectors
from exporter.upstream.budget import IpBudget
from exporter.upstream.client import BinanceClient
from exporter.upstream.clock import ServerClock
from exporter.upstream.demo import DemoUpstream
from exporter.upstream.endpoints import collateral_rates_v1, tiered_collateral_rates_v2
from exporter.upstream.parse import ParsedRates
from exporter.upstream.parse_tiers import ParsedTiers
from exporter.upstream.proxy import direct, env_proxy
from exporter.upstream.redact import Redactor

USER_AGENT = f"binance-pm-exporter/{__version__}"


class Exporter:
    """Everything a scrape needs: the gates to refresh and the exposition to serve. The v2
    (tiered) gate and Binance's clock exist only when an API secret is configured."""

    def __init__(self, config: Config, client: BinanceClient) -> None:
        self.config = config
        self.client = client
        self.budget = IpBudget()
        self.v1: RefreshGate[ParsedRates] = RefreshGate(
            "v1",
            collateral_rates_v1(client),
            budget=self.budget,
            min_interval=config.min_interval,
            timeout=config.timeout,
        )
        self.clock: ServerClock | None = None
        self.tiers: RefreshGate[ParsedTiers] | None = None
        self.gates: list[RefreshGate[Any]] = [self.v1]
        if config.api_secret:
            self.clock = ServerClock(client)
            self.tiers = RefreshGate(
                "v2",
                tiered_collateral_rates_v2(
                    client, self.clock, config.api_secret, config.recv_window, self.budget
                ),
                budget=self.budget,
                min_interval=config.min_interval,
                timeout=config.timeout,
            )
            self.gates.append(self.tiers)
        self.collector = ExporterCollector(
            self.v1,
            self.budget,
            min_interval=config.min_interval,
            max_stale=config.max_stale,
            tiers=self.tiers,
            clock=self.clock,
            upstream_url=lambda: client.current_base_url,
        )
        self.exposition = ExpositionCache(
            self.collector, process_collectors() if config.exporter_metrics else ()
        )
        self._settled_until = -math.inf

    def is_settled(self) -> bool:
        """Whether a scrape can be served the cached exposition as it is: no request is due or
        in flight, and nothing has changed since the last settle(). Most scrapes find it so."""
        return time.monotonic() < self._settled_until

    async def settle(self, deadline: float) -> None:
        """Bring every endpoint's snapshot up to date, as the gates allow, by `deadline` (a
        time.monotonic() value), and the exposition with them; then work out until when it
        stays so: the first moment a gate would request again or rates reach --max-stale, and
        never while a request is in flight, whose end changes what is exported."""
        await asyncio.gather(*(gate.refresh(deadline) for gate in self.gates))
        self.exposition.sync()
        self._settled_until = min(
            self.collector.stale_at(), *(gate.next_refresh_at() for gate in self.gates)
        )

    def scrape_deadline(self, scrape_timeout_header: str | None) -> float:
        return time.monotonic() + scrape_budget(self.config.timeout, scrape_timeout_header)

    async def close(self) -> None:
        await asyncio.gather(*(gate.close() for gate in self.gates))


def scrape_budget(timeout: float, scrape_timeout_header: str | None) -> float:
    """How long a scrape may wait for upstream: --timeout, capped by Prometheus'
    X-Prometheus-Scrape-Timeout-Seconds less a margin for rendering and the network."""
    if scrape_timeout_header:
        try:
            scrape_timeout = float(scrape_timeout_header)
        except ValueError:
            return timeout
        if scrape_timeout == scrape_timeout and scrape_timeout > 0:
            margin = min(0.5, scrape_timeout * 0.1)
            return max(0.0, min(timeout, scrape_timeout - margin))
    return timeout


@asynccontextmanager
async def running_exporter(config: Config) -> AsyncIterator[Exporter]:
    """An Exporter with its HTTP session (and, in demo mode, its simulated upstream) open."""
    demo = DemoUpstream() if config.demo else None
    base_urls = config.api_base_urls
    api_key = config.api_key
    if demo is not None:
        base_urls = (await demo.start(),)
        api_key = DemoUpstream.API_KEY
        config = replace(config, api_secret=DemoUpstream.API_SECRET)
    connector = aiohttp.TCPConnector(limit=8, ttl_dns_cache=300)
    # No trust_env: it would send ~/.netrc credentials; the proxy variables alone are honoured
    # (env_proxy). No cookies: Binance needs none, and an upstream must not grow a jar.
    session = aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
    )
    client = BinanceClient(
        session,
        base_urls,
        api_key,
        config.max_response_bytes,
        redactor=Redactor((*config.secrets, api_key or "")),
        proxy_for=direct if demo is not None else env_proxy,
    )
    exporter = Exporter(config, client)
    try:
        yield exporter
    finally:
        await exporter.close()
        await session.close()
        if demo is not None:
            await demo.stop()
