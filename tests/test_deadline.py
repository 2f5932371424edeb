"""A scrape answers within its deadline even when the upstream hangs."""

from __future__ import annotations

import time

import pytest

from exporter.scrape import wait_budget
from tests.support.exporter import StartExporter
from tests.support.fake_binance import FakeBinance, Reply
from tests.support.samples import rates_of


def test_wait_budget() -> None:
    assert wait_budget(10.0, None) == 10.0
    assert wait_budget(10.0, "5") == 4.5
    assert wait_budget(10.0, "30") == 10.0
    assert abs(wait_budget(10.0, "1") - 0.9) < 1e-9
    assert wait_budget(10.0, "garbage") == 10.0
    assert wait_budget(10.0, "-3") == 10.0
    assert wait_budget(10.0, "nan") == 10.0


async def test_hanging_upstream_scrape_header_caps_the_wait(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--timeout", "20")
    await running.scrape()
    fake.enqueue(Reply(delay=30.0))
    started = time.monotonic()
    samples = await running.samples(**{"X-Prometheus-Scrape-Timeout-Seconds": "1"})
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}, "last good rates served"


@pytest.mark.slow
async def test_hanging_upstream_timeout_flag_caps_the_wait(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--timeout", "1")
    fake.enqueue(Reply(delay=30.0))
    started = time.monotonic()
    samples = await running.samples()
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert samples[("binance_pm_up", ())] == 0.0
    key = ("binance_pm_upstream_errors_total", (("endpoint", "v1"), ("reason", "timeout")))
    assert samples[key] == 1.0
