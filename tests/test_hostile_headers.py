"""What an upstream (or a proxy on the way) puts in the headers and error bodies the exporter acts
on: X-SAPI-USED-IP-WEIGHT-1M, Retry-After, Binance's error JSON. Every value is survived without
an exception or a traceback; a bad weight is ignored; a usable Retry-After is held exactly, one
that cannot be used gets the 60 s floor (120 s for a ban), an absurd one the longest hold."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time

import pytest

from exporter.upstream.headers import MAX_RETRY_AFTER_SECONDS
from tests.support.exporter import Running, StartExporter
from tests.support.fake_binance import FakeBinance, Reply, error_body
from tests.support.samples import parse_samples, rates_of

OPENMETRICS = "application/openmetrics-text;version=1.0.0"
WEIGHT = ("binance_pm_upstream_used_weight_1m", ())
HOSTILE_WEIGHTS = [
    "1" + "0" * 400,
    "9" * 20,
    "-5",
    "abc",
    "12.5",
    "1e400",
    "inf",
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits, which int() reads
    "+7",
    "",
]


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def error_counts(text: str) -> dict[str, float]:
    return {
        dict(labels)["reason"]: value
        for (name, labels), value in parse_samples(text).items()
        if name == "binance_pm_upstream_errors_total" and value
    }


async def ask_again(running: Running) -> str:
    """A scrape that sends a request now, whatever the gate's own timers say."""
    running.exporter.v1.next_allowed = 0.0
    running.exporter.budget.not_before = 0.0
    running.exporter.scrapes.expire()
    return await running.scrape()


@pytest.mark.parametrize("value", HOSTILE_WEIGHTS)
async def test_a_bad_weight_header_is_ignored(
    value: str, fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    running = await start_exporter()
    assert (await running.samples())[WEIGHT] == 50.0
    fake.always(Reply(headers={"X-SAPI-USED-IP-WEIGHT-1M": value}))
    for accept in ("text/plain", OPENMETRICS):
        await ask_again(running)
        response = await running.client.get("/metrics", headers={"Accept": accept})
        assert response.status == 200
        await response.text()
    samples = await running.samples()
    assert samples[WEIGHT] == 50.0, "the last good weight stays"
    assert samples[("binance_pm_up", ())] == 1.0, "a bad header does not fail the request"
    assert running.exporter.budget.is_open()
    assert "ignored X-SAPI-USED-IP-WEIGHT-1M" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "ignored" in r.getMessage())
    no_traceback(caplog)


async def held_for(running: Running, fake: FakeBinance, reply: Reply) -> float:
    """How long the budget stays closed after the scripted answer, from the scrape's end."""
    fake.enqueue(reply)
    await ask_again(running)
    return running.exporter.budget.not_before - time.monotonic()


def http_date(at: float) -> str:
    return email.utils.formatdate(at, usegmt=True)


@pytest.mark.slow
async def test_retry_after_as_an_http_date_is_held_exactly(
    fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_exporter()
    await running.scrape()
    now = time.time()
    # Counted from the answer's own Date, so that a skew of the local clock does not shorten it:
    # here the upstream's clock is an hour behind.
    skewed = now - 3600
    reply = Reply(
        status=429,
        headers={"Date": http_date(skewed), "Retry-After": http_date(skewed + 3)},
    )
    hold = await held_for(running, fake, reply)
    assert 2.0 <= hold <= 3.0
    requests = fake.count()
    for _ in range(5):
        await running.scrape()
    assert fake.count() == requests, "no request while Retry-After is in force"
    await asyncio.sleep(hold + 0.2)
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert fake.count() == requests + 1
    assert fake.requests[-1].at - fake.requests[-2].at >= 2.0
    no_traceback(caplog)


@pytest.mark.parametrize("form", ["rfc1123", "rfc850", "asctime"])
async def test_every_http_date_form_is_read(
    form: str, fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter()
    await running.scrape()
    date = "Sun, 06 Nov 1994 08:49:37 GMT"
    until = {
        "rfc1123": "Sun, 06 Nov 1994 08:59:37 GMT",
        "rfc850": "Sunday, 06-Nov-94 08:59:37 GMT",
        "asctime": "Sun Nov  6 08:59:37 1994",
    }[form]
    hold = await held_for(
        running, fake, Reply(status=429, headers={"Date": date, "Retry-After": until})
    )
    assert 599.0 <= hold <= 600.0


@pytest.mark.parametrize(
    "value",
    [
        "-5",
        "soon",
        "1e3",
        "",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",  # a year that overflows
        "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",  # a zone that overflows
    ],
)
@pytest.mark.parametrize(("status", "floor"), [(429, 60.0), (418, 120.0)])
async def test_an_unusable_retry_after_gets_the_floor(
    value: str,
    status: int,
    floor: float,
    fake: FakeBinance,
    start_exporter: StartExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = await start_exporter()
    await running.scrape()
    hold = await held_for(running, fake, Reply(status=status, headers={"Retry-After": value}))
    assert floor - 2.0 <= hold <= floor
    reason = "rate_limited" if status == 429 else "ip_banned"
    assert error_counts(await running.scrape()) == {reason: 1.0}
    no_traceback(caplog)


@pytest.mark.parametrize(
    "value", ["1" + "0" * 400, "9" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT", "864000000.5"]
)
async def test_an_absurd_retry_after_is_held_for_the_longest_hold(
    value: str, fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_exporter()
    await running.scrape()
    hold = await held_for(running, fake, Reply(status=429, headers={"Retry-After": value}))
    assert MAX_RETRY_AFTER_SECONDS - 2.0 <= hold <= MAX_RETRY_AFTER_SECONDS
    assert error_counts(await running.scrape()) == {"rate_limited": 1.0}
    no_traceback(caplog)


def nested(depth: int) -> bytes:
    return b'{"code": -1003, "msg": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    "body",
    [
        nested(980),
        nested(100_000),
        b'{"code": -1003, "msg": {"a": ' * 500 + b"1" + b"}" * 1000,
        b'{"code": ' + b"9" * 4000 + b', "msg": "x"}',
        b'{"code": -1003, "msg": ' + b"1" * 4000 + b"}",
        b'{"code": true, "msg": "x"}',
    ],
)
async def test_odd_error_bodies_are_classified_by_status(
    body: bytes, fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_exporter()
    await running.scrape()
    hold = await held_for(running, fake, Reply(status=429, body=body, headers={"Retry-After": "7"}))
    assert 5.0 <= hold <= 7.0
    assert error_counts(await running.scrape()) == {"rate_limited": 1.0}
    assert len(running.exporter.v1.snapshot.last_error) < 600
    no_traceback(caplog)


async def test_a_valid_error_body_still_gives_code_and_message(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter()
    await running.scrape()
    body = error_body(-1003, "Too many\nrequests;   banned until 1700000000000.")
    await held_for(running, fake, Reply(status=418, body=body, headers={"Retry-After": "5"}))
    error = running.exporter.v1.snapshot.last_error
    assert "code=-1003" in error
    assert "Too many requests; banned until 1700000000000." in error, "on one line"
