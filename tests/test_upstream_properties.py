"""Properties over what a hostile upstream may send: any Retry-After or weight header value, any
error body (nested JSON included), any reason phrase, any status. Reading them never raises
anything but an UpstreamFault, never yields a number out of bounds, and never lets the key out,
whatever form it is echoed in."""

from __future__ import annotations

import asyncio
import email.utils
import html
import json
import logging
import math
import re
import time
import urllib.parse
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporter.upstream.client import BinanceClient, UpstreamResponse
from exporter.upstream.faults import MAX_MESSAGE_CHARS, UpstreamFault, binance_error
from exporter.upstream.headers import (
    MAX_RETRY_AFTER_SECONDS,
    parse_retry_after,
    parse_used_weight,
)
from exporter.upstream.redact import Redactor
from tests.support.echoes import echoed
from tests.support.exporter import API_KEY, served
from tests.support.fake_binance import V1_PATH, FakeBinance, Reply, error_body
from tests.support.hostile import bodies, json_values, odd_text

header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60
) | st.sampled_from(
    [
        "1" + "0" * 400,
        "9" * 5000,
        "-5",
        "-0",
        "nan",
        "inf",
        "1e400",
        "0x10",
        "1_000",
        " 12 ",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "Mon, 01 Jan 0001 00:00:00 +2359",
        "Sun Nov  6 08:49:37 1994",
    ]
)


@settings(max_examples=500, deadline=None)
@given(value=header_text | st.text(max_size=40), date=st.none() | header_text)
def test_retry_after_is_none_or_a_bounded_number(value: str, date: str | None) -> None:
    seconds = parse_retry_after(value, date)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER_SECONDS
    assert seconds is None or math.isfinite(seconds)


dates = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(date=dates, seconds=st.integers(min_value=0, max_value=int(MAX_RETRY_AFTER_SECONDS)))
def test_a_retry_after_date_is_held_exactly_from_the_answer_date(
    date: datetime, seconds: int
) -> None:
    now = date.replace(microsecond=0).timestamp()
    held = parse_retry_after(
        email.utils.formatdate(now + seconds, usegmt=True), email.utils.formatdate(now, usegmt=True)
    )
    assert held == seconds
    assert parse_retry_after(str(seconds)) == seconds


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.integers(min_value=0, max_value=10**12),
    zeros=st.integers(min_value=0, max_value=500),
)
def test_leading_zeros_do_not_change_a_delay_in_seconds(seconds: int, zeros: int) -> None:
    expected = float(seconds) if seconds <= MAX_RETRY_AFTER_SECONDS else MAX_RETRY_AFTER_SECONDS
    assert parse_retry_after("0" * zeros + str(seconds)) == expected


def test_a_delay_is_parsed_then_capped() -> None:
    assert parse_retry_after("0000000001") == 1.0
    assert parse_retry_after("0000000000") == 0.0
    assert parse_retry_after("000604800") == 7 * 24 * 3600.0
    assert parse_retry_after("000604801") == 7 * 24 * 3600.0
    assert parse_retry_after("0001.5") == 1.5
    assert parse_retry_after("1" + "0" * 400) == 7 * 24 * 3600.0


@settings(max_examples=500, deadline=None)
@given(value=header_text | st.text(max_size=40))
def test_a_weight_is_none_or_a_small_whole_number(value: str) -> None:
    weight = parse_used_weight(value)
    assert weight is None or (isinstance(weight, int) and 0 <= weight < 10**9)
    if weight is not None:
        assert float(weight) < 1e10


@st.composite
def nested_error_bodies(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(min_value=0, max_value=3000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"msg":', "}")]))
    msg = opener * depth + json.dumps(draw(odd_text)) + closer * depth
    code = draw(st.sampled_from(["-1003", "-2015", "0", "true", '"x"', "1" + "0" * 30, "-1e3"]))
    return f'{{"code": {code}, "msg": {msg}}}'.encode()


error_bodies = (
    bodies
    | nested_error_bodies()
    | json_values.map(lambda v: json.dumps({"code": -1, "msg": v}).encode())
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=error_bodies)
def test_an_error_body_gives_a_bounded_code_and_message(body: bytes) -> None:
    code, message = binance_error(body, Redactor([API_KEY]).text)
    assert code is None or (isinstance(code, int) and abs(code) < 10**9)
    assert isinstance(message, str)
    assert len(message) <= MAX_MESSAGE_CHARS
    assert "\n" not in message


STATUSES = [200, 204, 301, 400, 401, 403, 404, 418, 429, 451, 500, 503, 999]


@st.composite
def hostile_replies(draw: st.DrawFn) -> Reply:
    echo = draw(echoed(API_KEY))
    headers = {
        "Retry-After": draw(header_text),
        "X-SAPI-USED-IP-WEIGHT-1M": draw(header_text),
    }
    if draw(st.booleans()):
        headers["Date"] = draw(header_text)
    body = draw(
        st.sampled_from(
            [
                error_body(-2015, f"bad key {echo}"),
                f'[{{"asset": "{echo}", "collateralRate": "0.5"}}]'.encode(),
                f"<html>{echo}</html>".encode(),
            ]
        )
        | error_bodies
    )
    reason = draw(st.sampled_from(["", f"Forbidden {echo}", echo]))
    return Reply(status=draw(st.sampled_from(STATUSES)), body=body, headers=headers, reason=reason)


def decoded(text: str) -> str:
    """The text with every escape an echo may use undone: JSON, HTML, URL; in lower case. Log
    lines and fault descriptions show details as repr() does: its doubled backslashes first."""
    text = text.replace("\\\\", "\\")
    text = re.sub(r"\\[uU]([0-9a-fA-F]{4})", lambda match: chr(int(match.group(1), 16)), text)
    return urllib.parse.unquote_plus(html.unescape(text)).lower()


def shows_no_key(text: str) -> bool:
    return API_KEY.lower() not in decoded(text)


@pytest.mark.slow
def test_the_client_meets_any_answer_with_a_response_or_an_upstream_fault() -> None:
    with asyncio.Runner() as runner:
        fake = FakeBinance()
        runner.run(fake.start())
        session = runner.run(_session())
        try:
            client = BinanceClient(session, (fake.url,), API_KEY, 1 << 20)

            @settings(
                max_examples=300,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(reply=hostile_replies())
            def check(reply: Reply) -> None:
                fake.always(reply)
                outcome = runner.run(response_or_fault(client))
                if isinstance(outcome, UpstreamFault):
                    assert shows_no_key(outcome.describe())
                    retry_after = outcome.retry_after
                    assert retry_after is None or retry_after <= MAX_RETRY_AFTER_SECONDS
                    assert outcome.used_weight is None or outcome.used_weight < 10**9
                    return
                assert outcome.used_weight is None or outcome.used_weight < 10**9
                assert shows_no_key(outcome.body.decode("utf-8", "replace"))
                try:
                    document = json.loads(outcome.body)
                except (ValueError, RecursionError):
                    return
                assert shows_no_key(json.dumps(document, ensure_ascii=False))

            check()
        finally:
            runner.run(session.close())
            runner.run(fake.stop())


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


async def response_or_fault(client: BinanceClient) -> UpstreamResponse | UpstreamFault:
    """The answer, or the UpstreamFault it raised; any other exception fails the test."""
    try:
        return await client.get(V1_PATH, 10.0)
    except UpstreamFault as fault:
        return fault


async def scrape(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url + "/metrics", headers={"Accept": "text/plain"}) as response:
        assert response.status == 200
        return await response.text()


@pytest.mark.slow
def test_the_exporter_meets_any_answer_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The whole path (client, gate, parser, collector, /metrics) over hostile answers."""
    caplog.set_level(logging.DEBUG)
    with asyncio.Runner() as runner:
        fake = FakeBinance()
        runner.run(fake.start())
        stack = AsyncExitStack()
        try:
            server = runner.run(stack.enter_async_context(served(fake.url, "--timeout", "5")))
            session = runner.run(_session())
            stack.push_async_callback(session.close)
            exporter = server.exporter

            @settings(
                max_examples=150,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(reply=hostile_replies())
            def check(reply: Reply) -> None:
                fake.enqueue(reply)
                exporter.v1.next_allowed = exporter.budget.not_before = 0.0
                exporter.scrapes.expire()
                text = runner.run(scrape(session, server.url))
                assert list(text_string_to_metric_families(text))
                assert shows_no_key(text)
                hold = exporter.budget.not_before - time.monotonic()
                assert hold <= MAX_RETRY_AFTER_SECONDS
                assert exporter.v1.seconds_until_due() <= MAX_RETRY_AFTER_SECONDS
                assert [r.getMessage() for r in caplog.records if r.exc_info] == []

            check()
            assert fake.count() >= 150
        finally:
            runner.run(stack.aclose())
            runner.run(fake.stop())
