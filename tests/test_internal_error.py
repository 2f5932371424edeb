"""A bug of the exporter itself is counted as `internal_error`, never as a fault of Binance,
logged with its traceback once, and survived: the last good rates stay exported."""

from __future__ import annotations

import asyncio
import logging

import pytest

from exporter.upstream import endpoints
from exporter.upstream.parse import ParsedRates
from tests.support.exporter import StartExporter
from tests.support.fake_binance import FakeBinance
from tests.support.samples import rates_of

ERRORS = "binance_pm_upstream_errors_total"


def errors(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], reason: str) -> float:
    return samples[(ERRORS, (("endpoint", "v1"), ("reason", reason)))]


def broken_parser(body: bytes) -> ParsedRates:
    raise KeyError("a parser bug")


@pytest.mark.slow
async def test_a_parser_that_raises_is_an_internal_error_logged_once_and_survived(
    fake: FakeBinance,
    start_exporter: StartExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = await start_exporter("--min-interval", "0")
    samples = await running.samples()
    assert errors(samples, "internal_error") == 0.0, "present from the start, at 0"
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}

    monkeypatch.setattr(endpoints, "parse_collateral_rates", broken_parser)
    caplog.set_level(logging.DEBUG)
    samples = await running.samples()
    assert errors(samples, "internal_error") == 1.0
    assert errors(samples, "invalid_response") == 0.0, "not blamed on Binance"
    assert samples[("binance_pm_up", ())] == 0.0
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}, "the last good rates stay"

    # The second consecutive failure backs off 1 to 2 s (from 1 s, doubled once, jittered).
    await asyncio.sleep(2.1)
    for _ in range(5):
        samples = await running.samples()
    assert fake.count() == 3
    assert errors(samples, "internal_error") == 2.0
    assert errors(samples, "invalid_response") == 0.0

    tracebacks = [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.exc_info is not None
    ]
    assert len(tracebacks) == 1, "the traceback is logged once, not on every request"
    assert tracebacks[0].exc_info is not None
    assert tracebacks[0].exc_info[0] is KeyError
    assert "internal_error" in tracebacks[0].getMessage()


async def test_the_landing_page_names_internal_error_and_not_binance(
    fake: FakeBinance, start_exporter: StartExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = await start_exporter("--min-interval", "0")
    monkeypatch.setattr(endpoints, "parse_collateral_rates", broken_parser)
    await running.scrape()
    response = await running.client.get("/")
    page = await response.text()
    assert response.status == 200
    assert "internal_error" in page
    assert "invalid_response" not in page
    assert "a parser bug" not in page, "the exception's message may quote the upstream"
