"""Whatever the upstream sends, the parser either returns valid rates or raises an
UpstreamFault, and the exporter keeps serving an exposition that prometheus_client's parsers
and `promtool check metrics` accept, holding exactly the rates the parser accepted."""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from exporter.upstream.faults import UpstreamFault
from exporter.upstream.parse import ParsedRates, parse_collateral_rates
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance, Reply
from tests.support.hostile import bodies, deep_nesting, duplicate_keys, huge_numbers

GOOD_RATES = {"BTC": 0.95, "USDT": 1.0}
OPENMETRICS = "application/openmetrics-text;version=1.0.0"
PROMTOOL_SAMPLE = 60
FAMILY_NAME = re.compile(r"^(# (?:HELP|TYPE|UNIT) )?(binance_pm_|process_|python_)", re.MULTILINE)


def parse_or_fault(body: bytes) -> ParsedRates | None:
    """The parser's verdict; any exception but an UpstreamFault fails the test."""
    try:
        return parse_collateral_rates(body)
    except UpstreamFault:
        return None


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_parser_returns_valid_rates_or_a_fault(body: bytes) -> None:
    parsed = parse_or_fault(body)
    if parsed is None:
        return
    assert parsed.rates
    assert parsed.invalid_entries >= 0
    for asset, rate in parsed.rates.items():
        assert isinstance(asset, str)
        assert 0 < len(asset) <= 64
        assert asset == asset.strip()
        assert asset.isprintable()
        assert isinstance(rate, float)
        assert math.isfinite(rate)
        assert 0.0 <= rate <= 1.0


@settings(max_examples=100, deadline=None)
@given(body=duplicate_keys())
def test_duplicate_keys_never_yield_the_duplicated_entry_twice(body: bytes) -> None:
    parsed = parse_or_fault(body)
    assert parsed is not None  # the good entry alone keeps the response valid
    assert parsed.rates["OK"] == 0.5


@settings(max_examples=30, deadline=None)
@given(body=deep_nesting() | huge_numbers)
def test_deep_nesting_and_huge_numbers_are_invalid_responses(body: bytes) -> None:
    assert parse_or_fault(body) is None


def test_numbers_at_the_edge_of_floats_are_valid_rates() -> None:
    body = b'[{"asset": "A", "collateralRate": -1e-999}, {"asset": "B", "collateralRate": 5e-324}]'
    parsed = parse_or_fault(body)
    assert parsed is not None
    assert dict(parsed.rates) == {"A": 0.0, "B": 5e-324}


def test_an_asset_seen_twice_is_invalid_everywhere() -> None:
    body = (
        b'[{"asset": "BTC", "collateralRate": "0.9"}, {"asset": "BTC", "collateralRate": "0.1"},'
        b' {"asset": "ETH", "collateralRate": "0.8"}]'
    )
    parsed = parse_or_fault(body)
    assert parsed is not None
    assert dict(parsed.rates) == {"ETH": 0.8}
    assert parsed.invalid_entries == 2


def exported_rates(text: str, accept: str) -> tuple[dict[str, float], float]:
    """(rates, binance_pm_up) from an exposition, read by prometheus_client's own parser."""
    parse = openmetrics_families if accept == OPENMETRICS else text_string_to_metric_families
    rates: dict[str, float] = {}
    up = math.nan
    for family in parse(text):
        for sample in family.samples:
            if sample.name == "binance_pm_collateral_rate":
                rates[sample.labels["asset"]] = sample.value
            elif sample.name == "binance_pm_up":
                up = sample.value
    return rates, up


@dataclass
class Exchange:
    """The real exporter against the fake, on one event loop that examples take turns on."""

    fake: FakeBinance
    url: str
    session: aiohttp.ClientSession

    async def scrape(self, accept: str) -> str:
        async with self.session.get(self.url + "/metrics", headers={"Accept": accept}) as resp:
            assert resp.status == 200
            return await resp.text()

    async def serve_and_scrape(self, body: bytes, accept: str) -> str:
        # The good answer after the hostile one clears the failure, so no backoff delays the
        # next example's request.
        self.fake.enqueue(Reply(body=body), Reply())
        hostile = await self.scrape(accept)
        recovered, up = exported_rates(await self.scrape("text/plain"), "text/plain")
        assert recovered == GOOD_RATES
        assert up == 1.0
        return hostile


async def start_exchange(stack: AsyncExitStack, fake: FakeBinance) -> Exchange:
    server = await stack.enter_async_context(served(fake.url))
    session = await stack.enter_async_context(aiohttp.ClientSession())
    exchange = Exchange(fake, server.url, session)
    first, _ = exported_rates(await exchange.scrape("text/plain"), "text/plain")
    assert first == GOOD_RATES  # the last good rates every failed example falls back to
    return exchange


def promtool_check(expositions: list[str]) -> None:
    """One promtool run over many expositions: each one's families renamed apart so that
    they can share one input."""
    combined = "".join(
        FAMILY_NAME.sub(rf"\g<1>e{i}_\g<2>", text) for i, text in enumerate(expositions)
    )
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=combined.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@pytest.mark.slow
def test_every_exposition_parses_and_passes_promtool() -> None:
    accepted: list[str] = []  # after a body the parser took: the odd names are in the labels
    refused: list[str] = []
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        fake = FakeBinance({asset: str(rate) for asset, rate in GOOD_RATES.items()})
        runner.run(fake.start())
        try:
            exchange = runner.run(start_exchange(stack, fake))

            @settings(
                max_examples=250,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(body=bodies, openmetrics=st.booleans())
            def check(body: bytes, openmetrics: bool) -> None:
                accept = OPENMETRICS if openmetrics else "text/plain"
                text = runner.run(exchange.serve_and_scrape(body, accept))
                rates, up = exported_rates(text, accept)
                parsed = parse_or_fault(body)
                if parsed is None:
                    assert (rates, up) == (GOOD_RATES, 0.0)
                else:
                    assert (rates, up) == (dict(parsed.rates), 1.0)
                if not openmetrics:
                    (accepted if parsed is not None else refused).append(text)

            check()
        finally:
            runner.run(stack.aclose())
            runner.run(fake.stop())
    assert accepted
    assert refused
    promtool_check(accepted[:PROMTOOL_SAMPLE] + refused[:10])


def test_promtool_check_can_fail() -> None:
    with pytest.raises(AssertionError):
        promtool_check(['binance_pm_up{asset="unterminated} 1\n'])


GOOD_BODY = b'[{"asset":"BTC","collateralRate":"0.5"}]'
GOOD_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(GOOD_BODY), GOOD_BODY)
MALFORMED_ANSWERS = [
    (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 5\r\n\r\nabcde",
        "invalid_response",
    ),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nabcde", None),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[]", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n[]", "invalid_response"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n[]", "invalid_response"),
    (b"HTTP/1.1 999 What\r\nContent-Length: 2\r\n\r\n{}", "server_error"),
    (
        b"HTTP/1.1 301 Moved\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\n\r\n",
        "invalid_response",
    ),
    (
        b"HTTP/1.1 200 OK\r\nX-SAPI-USED-IP-WEIGHT-1M: \xff\r\nContent-Length: 2\r\n\r\n[]",
        "invalid_response",
    ),
    (
        b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"Content-Length: 2\r\n\r\n[]",
        "invalid_response",
    ),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n[]", "invalid_response"),
    (b"garbage\r\n\r\n", "invalid_response"),
    (b"\x16\x03\x01\x00\x05hello", "invalid_response"),
]


@pytest.mark.parametrize(("answer", "reason"), MALFORMED_ANSWERS)
async def test_malformed_http_answers_are_counted_and_survived(
    answer: bytes, reason: str | None
) -> None:
    """Raw bytes on the wire: broken framing, encodings, status lines and headers."""
    answers = [answer, GOOD_ANSWER]

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answers.pop(0) if answers else GOOD_ANSWER)
            await writer.drain()
        finally:
            writer.close()

    upstream = await asyncio.start_server(reply, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    try:
        async with served(f"http://127.0.0.1:{port}", "--timeout", "2") as server:
            async with aiohttp.ClientSession() as session:
                texts = []
                for _ in range(2):
                    async with session.get(server.url + "/metrics") as response:
                        assert response.status == 200
                        texts.append(await response.text())
            rates, up = exported_rates(texts[0], "text/plain")
            assert (rates, up) == ({}, 0.0)
            errors = {
                sample.labels["reason"]: sample.value
                for family in text_string_to_metric_families(texts[0])
                for sample in family.samples
                if sample.name == "binance_pm_upstream_errors_total"
            }
            assert sum(errors.values()) == 1
            if reason is not None:
                assert errors[reason] == 1
            assert exported_rates(texts[1], "text/plain") == ({"BTC": 0.5}, 1.0)
    finally:
        upstream.close()
        await upstream.wait_closed()
