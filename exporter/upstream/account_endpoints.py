"""The Portfolio Margin account endpoints: what to request for each product, and the index
prices (one request for every account).

| endpoint label | request | security |
|---|---|---|
| `account` | `GET /sapi/v1/portfolio/account` | signed |
| `balance` | `GET /sapi/v1/portfolio/balance` | signed |
| `index_price` | `GET /sapi/v1/portfolio/asset-index-price` | key only |
| `papi_account` | `GET /papi/v1/account` | signed, on the papi host |
| `papi_balance` | `GET /papi/v1/balance` | signed, on the papi host |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from exporter.upstream.budget import IpBudget
from exporter.upstream.client import BinanceClient
from exporter.upstream.clock import ServerClock
from exporter.upstream.endpoints import parsed_body, signed_endpoint
from exporter.upstream.parse_account import (
    AccountSummary,
    ParsedBalances,
    ParsedPrices,
    parse_account,
    parse_balances,
    parse_index_prices,
)
from exporter.upstream.results import Fetched

PM_PRO_ACCOUNT_PATH = "/sapi/v1/portfolio/account"
PM_PRO_BALANCE_PATH = "/sapi/v1/portfolio/balance"
INDEX_PRICE_PATH = "/sapi/v1/portfolio/asset-index-price"
PAPI_ACCOUNT_PATH = "/papi/v1/account"
PAPI_BALANCE_PATH = "/papi/v1/balance"


@dataclass(frozen=True)
class AccountPaths:
    """One product's two signed requests and their `endpoint` labels."""

    account_label: str
    account_path: str
    balance_label: str
    balance_path: str


PM_PRO_PATHS = AccountPaths("account", PM_PRO_ACCOUNT_PATH, "balance", PM_PRO_BALANCE_PATH)
PAPI_PATHS = AccountPaths("papi_account", PAPI_ACCOUNT_PATH, "papi_balance", PAPI_BALANCE_PATH)


@dataclass(frozen=True)
class Credentials:
    api_key: str
    api_secret: str


def account_summary(
    client: BinanceClient,
    clock: ServerClock,
    budget: IpBudget,
    paths: AccountPaths,
    credentials: Credentials,
    *,
    recv_window: int,
    clock_budget: IpBudget,
) -> Callable[[float], Awaitable[Fetched[AccountSummary]]]:
    return signed_endpoint(
        client,
        clock,
        budget,
        paths.account_path,
        parse_account,
        paths.account_label,
        secret=credentials.api_secret,
        recv_window=recv_window,
        api_key=credentials.api_key,
        clock_budget=clock_budget,
    )


def account_balances(
    client: BinanceClient,
    clock: ServerClock,
    budget: IpBudget,
    paths: AccountPaths,
    credentials: Credentials,
    *,
    recv_window: int,
    clock_budget: IpBudget,
) -> Callable[[float], Awaitable[Fetched[ParsedBalances]]]:
    return signed_endpoint(
        client,
        clock,
        budget,
        paths.balance_path,
        parse_balances,
        paths.balance_label,
        secret=credentials.api_secret,
        recv_window=recv_window,
        api_key=credentials.api_key,
        clock_budget=clock_budget,
    )


def index_prices(
    client: BinanceClient, api_key: str | None = None
) -> Callable[[float], Awaitable[Fetched[ParsedPrices]]]:
    """Every asset's index price in one request (weight 50): cheaper than one request per
    held asset (weight 1 each) as soon as the accounts hold 50 assets between them, and one
    request whatever they hold."""

    async def fetch(timeout: float) -> Fetched[ParsedPrices]:
        response = await client.get(INDEX_PRICE_PATH, timeout, api_key=api_key)
        parsed = parsed_body(response, parse_index_prices)
        return Fetched(parsed, parsed.invalid_entries, response.used_weight)

    return fetch
