"""The upstream endpoints: what to request and how to read the answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from exporter.upstream.budget import IpBudget
from exporter.upstream.client import BinanceClient, UpstreamResponse
from exporter.upstream.clock import ServerClock
from exporter.upstream.faults import UpstreamFault, is_rate_limit, says_clock_is_off
from exporter.upstream.parse import ParsedRates, parse_collateral_rates
from exporter.upstream.parse_tiers import ParsedTiers, parse_tiered_rates
from exporter.upstream.results import Deferred, Fetched
from exporter.upstream.signing import signed_query

log = logging.getLogger(__name__)
ParsedT = TypeVar("ParsedT")


class Counted(Protocol):
    """A parsed answer that says how many of its entries were skipped as invalid."""

    @property
    def invalid_entries(self) -> int: ...


CountedT = TypeVar("CountedT", bound=Counted)

V1_PATH = "/sapi/v1/portfolio/collateralRate"
V2_PATH = "/sapi/v2/portfolio/collateralRate"
# Learning the clock may use this share of --timeout; the signed request gets the rest.
CLOCK_SHARE_OF_TIMEOUT = 0.5


def collateral_rates_v1(
    client: BinanceClient,
) -> Callable[[float], Awaitable[Fetched[ParsedRates]]]:
    async def fetch(timeout: float) -> Fetched[ParsedRates]:
        response = await client.get(V1_PATH, timeout)
        parsed = parsed_body(response, parse_collateral_rates)
        return Fetched(parsed, parsed.invalid_entries, response.used_weight)

    return fetch


def tiered_collateral_rates_v2(
    client: BinanceClient,
    clock: ServerClock,
    secret: str,
    recv_window: int,
    budget: IpBudget,
    *,
    api_key: str | None = None,
) -> Callable[[float], Awaitable[Fetched[ParsedTiers]]]:
    """The signed v2 request (see `signed_endpoint`)."""
    return signed_endpoint(
        client,
        clock,
        budget,
        V2_PATH,
        parse_tiered_rates,
        "v2",
        secret=secret,
        recv_window=recv_window,
        api_key=api_key,
    )


def signed_endpoint(
    client: BinanceClient,
    clock: ServerClock,
    budget: IpBudget,
    path: str,
    parse: Callable[[bytes], CountedT],
    label: str,
    *,
    secret: str,
    recv_window: int,
    api_key: str | None = None,
    clock_budget: IpBudget | None = None,
) -> Callable[[float], Awaitable[Fetched[CountedT]]]:
    """A signed (USER_DATA) GET of `path`, with `api_key` (the client's own when None) and
    `secret`. Binance's clock is learned first when it is not known yet or a -1021 said it
    drifted; a failure to learn it does not stop the request, which is then signed with the
    last known offset (or the local clock). If a rate limit closed the IP budget while the
    clock was asked (a 429/418 on the clock request itself, counted there, or on another
    endpoint), the request is deferred. `budget` is the one of the request's host;
    `clock_budget` the one of the clock's host (the same unless given)."""

    async def fetch(timeout: float) -> Fetched[CountedT]:
        started = time.monotonic()
        if clock.stale:
            await _learn_clock(
                clock, timeout * CLOCK_SHARE_OF_TIMEOUT, clock_budget or budget, label
            )
            if not budget.is_open():
                raise Deferred
        remaining = max(timeout - (time.monotonic() - started), timeout * CLOCK_SHARE_OF_TIMEOUT)
        query = signed_query({"timestamp": clock.timestamp_ms(), "recvWindow": recv_window}, secret)
        try:
            response = await client.get(
                path, remaining, query=query, api_key=api_key, secrets=secrets_of(api_key, secret)
            )
        except UpstreamFault as fault:
            if says_clock_is_off(fault):
                clock.forget()
            raise
        parsed = parsed_body(response, parse)
        return Fetched(parsed, parsed.invalid_entries, response.used_weight)

    return fetch


def secrets_of(api_key: str | None, secret: str) -> tuple[str, ...]:
    """What a signed request with its own key must have redacted from its answer."""
    return (api_key, secret) if api_key else ()


def parsed_body(response: UpstreamResponse, parse: Callable[[bytes], ParsedT]) -> ParsedT:
    """The parsed body; a body that cannot be used still reports the weight its answer said."""
    try:
        return parse(response.body)
    except UpstreamFault as fault:
        fault.used_weight = response.used_weight
        raise


async def _learn_clock(clock: ServerClock, timeout: float, budget: IpBudget, label: str) -> None:
    """Learns the clock. A failure is logged once, then at debug while it goes on failing; a
    rate limit closes the IP budget for its Retry-After."""
    failing_already = clock.failing
    try:
        await clock.learn(timeout)
    except UpstreamFault as fault:
        if is_rate_limit(fault.reason) and fault.retry_after is not None:
            budget.block_for(
                fault.retry_after, f"Retry-After of the clock request: {fault.describe()}"
            )
            return
        log.log(
            logging.DEBUG if failing_already else logging.WARNING,
            "%s: cannot learn Binance's clock, signing with the %s: %s",
            label,
            "last known offset" if clock.learned else "local clock",
            fault.describe(),
        )
