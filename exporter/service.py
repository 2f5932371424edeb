"""Wiring: from a Config to the running parts (HTTP session, client, gates, metrics)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp

from exporter import __version__
from exporter.accounts import Account, accounts_of
from exporter.changes import RateChanges
from exporter.config import Config
from exporter.exposition import ExpositionCache
from exporter.fakebinance import demo_accounts
from exporter.fakebinance.demo import API_KEY as DEMO_API_KEY
from exporter.fakebinance.demo import API_SECRET as DEMO_API_SECRET
from exporter.fakebinance.demo import DemoBinance
from exporter.gate import RefreshGate
from exporter.margin import Product
from exporter.metrics import AccountGates, ExporterCollector, process_collectors
from exporter.scrape import ScrapePlanner
from exporter.upstream.account_endpoints import (
    PAPI_PATHS,
    PM_PRO_PATHS,
    Credentials,
    account_balances,
    account_summary,
    index_prices,
)
from exporter.upstream.budget import PAPI_IP_WEIGHT_LIMIT, IpBudget
from exporter.upstream.client import BinanceClient
from exporter.upstream.clock import ServerClock
from exporter.upstream.endpoints import collateral_rates_v1, tiered_collateral_rates_v2
from exporter.upstream.headers import PAPI_USED_WEIGHT_HEADER
from exporter.upstream.parse import ParsedRates
from exporter.upstream.parse_account import ParsedPrices
from exporter.upstream.parse_tiers import ParsedTiers
from exporter.upstream.proxy import direct, env_proxy
from exporter.upstream.redact import Redactor
from exporter.upstream.results import Fetched, PayloadT

USER_AGENT = f"binance-pm-exporter/{__version__}"


class Exporter:
    """Everything a scrape needs: the gates (sources) to refresh, the exposition to serve, and
    `scrapes`, which decides between them (exporter/scrape.py). The v2
    (tiered) gate exists only when an API secret is configured (or, without one, a Portfolio
    Margin Pro account whose key signs it); Binance's clock only when something is signed; the
    index prices and the accounts' gates only when accounts are watched. Portfolio Margin
    accounts go to `papi_client`, with papi's own IP budget."""

    def __init__(
        self,
        config: Config,
        client: BinanceClient,
        *,
        accounts: Sequence[Account] = (),
        papi_client: BinanceClient | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.demo: DemoBinance | None = None  # the simulated upstream of --demo
        self.budget = IpBudget()
        self.papi_budget = IpBudget(limit=PAPI_IP_WEIGHT_LIMIT, name="papi")
        self.changes = RateChanges()
        self.v1: RefreshGate[ParsedRates] = RefreshGate(
            "v1",
            collateral_rates_v1(client),
            budget=self.budget,
            min_interval=config.min_interval,
            timeout=config.timeout,
            on_success=lambda payload, at: self.changes.observe(payload.rates, at),
        )
        self.clock: ServerClock | None = None
        self.tiers: RefreshGate[ParsedTiers] | None = None
        self.gates: list[RefreshGate[Any]] = [self.v1]
        tiers_signer = tiers_credentials(config, accounts)
        if tiers_signer is not None or accounts:
            self.clock = ServerClock(client)
        if tiers_signer is not None and self.clock is not None:
            key, secret = tiers_signer
            self.tiers = RefreshGate(
                "v2",
                tiered_collateral_rates_v2(
                    client, self.clock, secret, config.recv_window, self.budget, api_key=key
                ),
                budget=self.budget,
                min_interval=config.min_interval,
                timeout=config.timeout,
            )
            self.gates.append(self.tiers)
        self.prices: RefreshGate[ParsedPrices] | None = None
        self.accounts: list[AccountGates] = []
        if accounts and self.clock is not None:
            self.prices = RefreshGate(
                "index_price",
                index_prices(client),
                budget=self.budget,
                min_interval=config.account_min_interval,
                timeout=config.timeout,
            )
            self.gates.append(self.prices)
            for account in accounts:
                watched = self._account_gates(account, self.clock, papi_client)
                self.accounts.append(watched)
                self.gates += [watched.summary, watched.balances]
        self.collector = ExporterCollector(
            self.v1,
            self.budget,
            min_interval=config.min_interval,
            max_stale=config.max_stale,
            tiers=self.tiers,
            clock=self.clock,
            upstream_url=lambda: client.current_base_url,
            accounts=self.accounts,
            prices=self.prices,
        )
        self.exposition = ExpositionCache(
            self.collector, process_collectors() if config.exporter_metrics else ()
        )
        self.scrapes = ScrapePlanner(
            self.gates,
            self.collector,
            self.exposition,
            timeout=config.timeout,
            max_stale=config.max_stale,
        )

    def _account_gates(
        self, account: Account, clock: ServerClock, papi_client: BinanceClient | None
    ) -> AccountGates:
        """The two gates of one account, on its product's host and IP budget."""
        pm_pro = account.product is Product.PM_PRO
        client = self.client if pm_pro else papi_client
        if client is None:
            raise ValueError(f"account {account.name!r}: no papi client for a pm account")
        budget = self.budget if pm_pro else self.papi_budget
        paths = PM_PRO_PATHS if pm_pro else PAPI_PATHS
        credentials = Credentials(account.api_key, account.api_secret)
        recv_window, clock_budget = self.config.recv_window, self.budget

        def gate(
            label: str, fetch: Callable[[float], Awaitable[Fetched[PayloadT]]]
        ) -> RefreshGate[PayloadT]:
            return RefreshGate(
                label,
                fetch,
                budget=budget,
                min_interval=self.config.account_min_interval,
                timeout=self.config.timeout,
                account=account.name,
            )

        summary = gate(
            paths.account_label,
            account_summary(
                client,
                clock,
                budget,
                paths,
                credentials,
                recv_window=recv_window,
                clock_budget=clock_budget,
            ),
        )
        balances = gate(
            paths.balance_label,
            account_balances(
                client,
                clock,
                budget,
                paths,
                credentials,
                recv_window=recv_window,
                clock_budget=clock_budget,
            ),
        )
        return AccountGates(account.name, account.product, summary, balances)

    async def close(self) -> None:
        await asyncio.gather(*(gate.close() for gate in self.gates))


def tiers_credentials(config: Config, accounts: Sequence[Account]) -> tuple[str | None, str] | None:
    """Who signs the v2 request: the exporter's own key and secret (key None: the client's),
    else the first Portfolio Margin Pro account's; None when nobody can."""
    if config.api_secret:
        return None, config.api_secret
    pm_pro = [account for account in accounts if account.product is Product.PM_PRO]
    if pm_pro:
        return pm_pro[0].api_key, pm_pro[0].api_secret
    return None


def demo_account_list() -> tuple[Account, ...]:
    return (
        Account(
            demo_accounts.PM_PRO_NAME,
            Product.PM_PRO,
            demo_accounts.PM_PRO_KEY,
            demo_accounts.PM_PRO_SECRET,
        ),
        Account(demo_accounts.PM_NAME, Product.PM, demo_accounts.PM_KEY, demo_accounts.PM_SECRET),
    )


def configured_accounts(config: Config) -> tuple[Account, ...]:
    """The accounts of --accounts-file or --account-product; AccountsError when they are bad."""
    return accounts_of(
        config.accounts_file, config.account_product, config.api_key, config.api_secret
    )


@asynccontextmanager
async def running_exporter(
    config: Config, accounts: Sequence[Account] | None = None
) -> AsyncIterator[Exporter]:
    """An Exporter with its HTTP session (and, in demo mode, its simulated upstream) open.
    `accounts` are read from the configuration when not given."""
    demo = DemoBinance(config.demo_scenario) if config.demo else None
    base_urls = config.api_base_urls
    papi_urls = config.papi_base_urls
    api_key = config.api_key
    watched = tuple(configured_accounts(config) if accounts is None else accounts)
    if demo is not None:
        base_urls = (await demo.start(),)
        papi_urls = base_urls
        api_key = DEMO_API_KEY
        config = replace(config, api_secret=DEMO_API_SECRET)
        watched = demo_account_list()
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
    # Each account's key and secret are redacted from the answers to its own requests (the
    # client adds them per request), and from every log line (the log setup masks them all).
    redactor = Redactor((*config.secrets, api_key or ""))
    proxy_for = direct if demo is not None else env_proxy
    client = BinanceClient(
        session,
        base_urls,
        api_key,
        config.max_response_bytes,
        redactor=redactor,
        proxy_for=proxy_for,
    )
    papi_client = None
    if any(account.product is Product.PM for account in watched):
        papi_client = BinanceClient(
            session,
            papi_urls,
            None,
            config.max_response_bytes,
            redactor=redactor,
            proxy_for=proxy_for,
            used_weight_header=PAPI_USED_WEIGHT_HEADER,
        )
    exporter = Exporter(config, client, accounts=watched, papi_client=papi_client)
    exporter.demo = demo
    try:
        yield exporter
    finally:
        await exporter.close()
        await session.close()
        if demo is not None:
            await demo.stop()
