"""The upstream endpoints: what to request and how to read the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from exporter.binance import BinanceClient
from exporter.faults import UpstreamFault
from exporter.gate import Fetched
from exporter.parse import ParsedRates, parse_collateral_rates

V1_PATH = "/sapi/v1/portfolio/collateralRate"


def collateral_rates_v1(
    client: BinanceClient,
) -> Callable[[float], Awaitable[Fetched[ParsedRates]]]:
    async def fetch(timeout: float) -> Fetched[ParsedRates]:
        response = await client.get(V1_PATH, timeout)
        try:
            parsed = parse_collateral_rates(response.body)
        except UpstreamFault as fault:
            fault.used_weight = response.used_weight
            raise
        return Fetched(parsed, parsed.invalid_entries, response.used_weight)

    return fetch
